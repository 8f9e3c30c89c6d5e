"""Read back what the function stored, from DynamoDB and from MySQL, in one comparable shape.

Verify must judge the stores independently of the handler's code, so this reads them with plain
boto3 and pymysql and normalizes only representation (DynamoDB's absent attribute vs SQL NULL,
DATETIME(6) vs the ISO text), never content.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pymysql

from scripts.harness.cli import UserError

DYNAMODB_BATCH_GET_MAX = 100
MYSQL_IN_CHUNK = 500
UNPROCESSED_RETRIES = 8


@dataclass(frozen=True)
class StoredUser:
    user_id: str
    name: str
    email: str | None
    registered_at: str  # YYYY-MM-DDTHH:MM:SS.ffffffZ
    version: str


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def from_item(item: dict[str, Any]) -> StoredUser:
    """A DynamoDB item (low-level attribute values) as a StoredUser."""
    return StoredUser(
        user_id=item["user_id"]["S"],
        name=item["name"]["S"],
        email=item["email"]["S"] if "email" in item else None,
        registered_at=item["registered_at"]["S"],
        version=item["version"]["S"],
    )


def read_dynamodb(dynamodb: Any, table: str, user_ids: Iterable[str]) -> dict[str, StoredUser]:
    """Strongly consistent BatchGetItem of `user_ids` (retrying unprocessed keys)."""
    found: dict[str, StoredUser] = {}
    for chunk in _chunks(sorted(set(user_ids)), DYNAMODB_BATCH_GET_MAX):
        request: dict[str, Any] = {
            table: {"Keys": [{"user_id": {"S": u}} for u in chunk], "ConsistentRead": True}
        }
        for attempt in range(UNPROCESSED_RETRIES):
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                user = from_item(item)
                found[user.user_id] = user
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.05 * 2**attempt)
    return found


@dataclass(frozen=True)
class MySQLTarget:
    """Where and how to reach the database; credentials come from the stack's secret."""

    host: str
    port: int
    database: str
    tls: str  # "off" | "require" | "verify" (the function's DB_TLS)
    ca_bundle: Path | None = None


def credentials(secrets: Any, secret_arn: str) -> tuple[str, str]:
    """(username, password) from the secret in db_secret_arn."""
    document = json.loads(secrets.get_secret_value(SecretId=secret_arn)["SecretString"])
    return document["username"], document["password"]


def _ssl_context(target: MySQLTarget) -> ssl.SSLContext | None:
    if target.tls == "off":
        return None
    if target.tls == "require":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=str(target.ca_bundle) if target.ca_bundle else None)


def connect(target: MySQLTarget, user: str, password: str) -> pymysql.connections.Connection:
    try:
        return pymysql.connect(
            host=target.host,
            port=target.port,
            user=user,
            password=password,
            database=target.database,
            charset="utf8mb4",
            ssl=_ssl_context(target),
            connect_timeout=5,
            read_timeout=30,
        )
    except pymysql.err.MySQLError as err:
        raise UserError(
            f"cannot connect to MySQL at {target.host}:{target.port}/{target.database}: {err}"
        ) from err


def _timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read_mysql(
    connection: pymysql.connections.Connection, user_ids: Iterable[str]
) -> dict[str, StoredUser]:
    """Rows of `users` for `user_ids` (a missing table reads as no rows)."""
    found: dict[str, StoredUser] = {}
    with connection.cursor() as cursor:
        cursor.execute("SHOW TABLES LIKE 'users'")
        if cursor.fetchone() is None:
            return found
        for chunk in _chunks(sorted(set(user_ids)), MYSQL_IN_CHUNK):
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                "SELECT user_id, name, email, registered_at, version FROM users "
                f"WHERE user_id IN ({placeholders})",
                chunk,
            )
            for user_id, name, email, registered_at, version in cursor.fetchall():
                found[user_id] = StoredUser(
                    user_id, name, email, _timestamp(registered_at), version
                )
    return found
