"""Helpers for running the handler in-process and reading both stores back independently."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING, Any

import pymysql

from registration import app
from scripts.harness.messages import sqs_bodies
from scripts.harness.stack import local_stores

if TYPE_CHECKING:
    from tests.conftest import DatabaseServer

REMAINING_MS_DEFAULT = 60_000


@dataclass
class ContextStub:
    """The Lambda context attributes the handler and powertools read.

    ``remaining_ms`` is consumed one value per ``get_remaining_time_in_millis`` call (the last
    value repeats), so a test can script the clock running out mid-batch.
    """

    remaining_ms: list[int] = field(default_factory=lambda: [REMAINING_MS_DEFAULT])
    function_name: str = "registration"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:registration"
    aws_request_id: str = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        if len(self.remaining_ms) > 1:
            return self.remaining_ms.pop(0)
        return self.remaining_ms[0]


def sqs_event(bodies: Sequence[str], *, sent_ms: int | None = None) -> dict[str, Any]:
    return sqs_bodies.event_from_bodies(list(bodies), sent_ms=sent_ms)


def body(**fields: Any) -> str:
    return json.dumps(fields, ensure_ascii=False)


def canonical(user_id: str, name: str, email: str | None, registered_at: str) -> dict[str, Any]:
    document: dict[str, Any] = {"user_id": user_id, "name": name, "registered_at": registered_at}
    if email is not None:
        document["email"] = email
    return document


@dataclass
class HandlerStores:
    """This test's stores, readable independently of the handler's code."""

    stores: local_stores.ProvisionedStores
    database: DatabaseServer

    def invoke(self, event: dict[str, Any], context: ContextStub | None = None) -> Any:
        return app.lambda_handler(event, context or ContextStub())

    def invoke_bodies(self, bodies: Sequence[str], **kwargs: Any) -> Any:
        return self.invoke(sqs_event(bodies), **kwargs)

    def set_secret(self, credentials: dict[str, str]) -> None:
        """Replace the database secret's value (the handler reads it on its next cold start)."""
        local_stores.client("secretsmanager", self.stores.endpoint_url).put_secret_value(
            SecretId=self.stores.secret_arn, SecretString=json.dumps(credentials)
        )

    def root_connection(self) -> pymysql.connections.Connection:
        return self.database.server.root_connection(self.stores.database.name)

    def mysql_users(self) -> dict[str, dict[str, Any]]:
        """Rows of ``users`` in the stored shape (missing table reads as empty)."""
        with self.root_connection() as connection, connection.cursor() as cursor:
            cursor.execute("SHOW TABLES LIKE 'users'")
            if cursor.fetchone() is None:
                return {}
            cursor.execute("SELECT user_id, name, email, registered_at, version FROM users")
            return {
                user_id: {
                    "name": name,
                    "email": email,
                    "registered_at": registered_at.replace(tzinfo=UTC).strftime(
                        "%Y-%m-%dT%H:%M:%S.%fZ"
                    ),
                    "version": version,
                }
                for user_id, name, email, registered_at, version in cursor.fetchall()
            }

    def dynamodb_users(self) -> dict[str, dict[str, Any]]:
        client = local_stores.client("dynamodb", self.stores.endpoint_url)
        users: dict[str, dict[str, Any]] = {}
        for page in client.get_paginator("scan").paginate(
            TableName=self.stores.table_name, ConsistentRead=True
        ):
            for item in page["Items"]:
                users[item["user_id"]["S"]] = {
                    "name": item["name"]["S"],
                    "email": item["email"]["S"] if "email" in item else None,
                    "registered_at": item["registered_at"]["S"],
                    "version": item["version"]["S"],
                }
        return users

    def dlq_messages(self) -> list[dict[str, Any]]:
        """Everything in the DLQ: body plus message attributes as plain strings."""
        client = local_stores.client("sqs", self.stores.endpoint_url)
        messages: list[dict[str, Any]] = []
        while True:
            response = client.receive_message(
                QueueUrl=self.stores.dlq_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            batch = response.get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                messages.append(
                    {
                        "body": message["Body"],
                        **{
                            name: value["StringValue"]
                            for name, value in message.get("MessageAttributes", {}).items()
                        },
                    }
                )
                client.delete_message(
                    QueueUrl=self.stores.dlq_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def clear(self) -> None:
        """Empty both stores (between hypothesis examples, which share one test's stores)."""
        with self.root_connection() as connection, connection.cursor() as cursor:
            cursor.execute("SHOW TABLES LIKE 'users'")
            if cursor.fetchone() is not None:
                cursor.execute("DELETE FROM users")
        client = local_stores.client("dynamodb", self.stores.endpoint_url)
        for user_id in self.dynamodb_users():
            client.delete_item(TableName=self.stores.table_name, Key={"user_id": {"S": user_id}})


def function_environment(stores: local_stores.ProvisionedStores) -> dict[str, str]:
    return {
        **stores.function_environment(),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def log_records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
