"""SQS registration consumer: validates each message and upserts the user into DynamoDB and MySQL.

The Lambda handler is ``registration.app.lambda_handler``; see README.md beside this file.
"""
