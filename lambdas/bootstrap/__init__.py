"""Database bootstrap: schema migration and the application's least-privilege MySQL user.

The Lambda handler is ``bootstrap.app.lambda_handler``; see README.md beside this file.
"""
