"""The users table's change stream, as two consumers of its DynamoDB stream.

app      changes.app.lambda_handler: each batch of stream records -> one gzipped JSON Lines
         object of change rows in the lake (registrations/dt=YYYY-MM-DD/...)
windows  changes.windows.lambda_handler: tumbling-window counts of created/updated/removed,
         published at the window's final invoke (CloudWatch metric + counts/ in the lake)
rows     a stream record -> a change row (shared by both)
"""
