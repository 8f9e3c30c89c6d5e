"""Bulk import: stream a CSV or JSON Lines file from S3 into registration messages.

app (the Lambda entry point) -> jobs (what a queue message asks for) -> chunk (one time-boxed
pass over the object) -> rows (bytes to bodies), sender (SendMessageBatch), reports (status and
rejects in the bucket).
"""
