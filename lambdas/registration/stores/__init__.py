"""The three places a record can end up: MySQL, DynamoDB, and (rejected) the dead-letter queue."""
