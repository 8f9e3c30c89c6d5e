"""Read back what the function stored, from DynamoDB and from MySQL, in one comparable shape.

Verify must judge the stores independently of the handler's code, so this reads them with plain
boto3 and pymysql and normalizes only representation (DynamoDB's absent attribute vs SQL NULL,
DATETIME(6) vs the ISO text), never content.

Two ways in: point reads of given users (verify's ledger users), and whole-store scans that never
hold a store in memory (reconcile at a million users, and the stray-row count): a segmented,
paginated DynamoDB Scan and a server-side MySQL cursor in key order, both yielding pages.
"""

from __future__ import annotations

import contextlib
import json
import queue
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pymysql
import pymysql.cursors

from scripts.harness.cli import UserError
from scripts.harness.stack import aws_session
from scripts.harness.stack.outputs import StackOutputs

DYNAMODB_BATCH_GET_MAX = 100
MYSQL_IN_CHUNK = 500
UNPROCESSED_RETRIES = 8
SCAN_PAGE_SIZE = 1000
SCAN_SEGMENTS = 4
BUNDLED_CA = (
    Path(__file__).resolve().parents[3] / "lambdas/registration/certs/rds-global-bundle.pem"
)
USER_COLUMNS = "user_id, name, email, registered_at, version"


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


def mysql_target(
    stack: StackOutputs,
    environment: dict[str, str],
    host: str | None = None,
    port: int | None = None,
    ca: Path | None = None,
) -> MySQLTarget:
    """Host and port from the outputs (or overrides), TLS mode from the function's DB_TLS."""
    tls = environment.get("DB_TLS", "verify").lower()
    bundle = ca
    if bundle is None and tls == "verify":
        configured = Path(environment["DB_CA_BUNDLE"]) if environment.get("DB_CA_BUNDLE") else None
        bundle = next((p for p in (configured, BUNDLED_CA) if p and p.is_file()), None)
    return MySQLTarget(
        host=host or stack.db_host,
        port=port or stack.db_port,
        database=stack.db_name,
        tls=tls,
        ca_bundle=bundle,
    )


@contextlib.contextmanager
def open_mysql(
    session: aws_session.SessionLike,
    stack: StackOutputs,
    *,
    host: str | None = None,
    port: int | None = None,
    ca: Path | None = None,
) -> Iterator[pymysql.connections.Connection]:
    """A connection to the stack's database the way its function connects (DB_TLS, secret)."""
    function = session.client("lambda").get_function(FunctionName=stack.function_name)
    environment = function["Configuration"].get("Environment", {}).get("Variables", {})
    user, password = credentials(session.client("secretsmanager"), stack.db_secret_arn)
    target = mysql_target(stack, environment, host, port, ca)
    with connect(target, user, password) as connection:
        yield connection


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
            ssl_disabled=target.tls == "off",
        )
    except pymysql.err.MySQLError as err:
        raise UserError(
            f"cannot connect to MySQL at {target.host}:{target.port}/{target.database}: {err}"
        ) from err


def _timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _from_row(row: tuple[Any, ...]) -> StoredUser:
    user_id, name, email, registered_at, version = row
    return StoredUser(user_id, name, email, _timestamp(registered_at), version)


def _has_users_table(connection: pymysql.connections.Connection) -> bool:
    """The handler creates the table on its first write: before that, no rows (not an error)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW TABLES LIKE 'users'")
        return cursor.fetchone() is not None


def read_mysql(
    connection: pymysql.connections.Connection, user_ids: Iterable[str]
) -> dict[str, StoredUser]:
    """Rows of `users` for `user_ids` (a missing table reads as no rows)."""
    found: dict[str, StoredUser] = {}
    if not _has_users_table(connection):
        return found
    with connection.cursor() as cursor:
        for chunk in _chunks(sorted(set(user_ids)), MYSQL_IN_CHUNK):
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT {USER_COLUMNS} FROM users WHERE user_id IN ({placeholders})", chunk
            )
            for row in cursor.fetchall():
                user = _from_row(row)
                found[user.user_id] = user
    return found


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def count_mysql(connection: pymysql.connections.Connection) -> int:
    if not _has_users_table(connection):
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM users")
        (count,) = cursor.fetchone()
    return int(count)


def scan_mysql(
    connection: pymysql.connections.Connection, *, prefix: str = "", page_size: int = SCAN_PAGE_SIZE
) -> Iterator[list[StoredUser]]:
    """Every row (or those whose user_id starts with `prefix`) in key order, a page at a time.

    A server-side cursor (SSCursor) streams the result: the client holds one page, not the
    table. The connection serves nothing else until the generator is exhausted or closed.
    """
    if not _has_users_table(connection):
        return
    with connection.cursor(pymysql.cursors.SSCursor) as cursor:
        cursor.execute(
            f"SELECT {USER_COLUMNS} FROM users WHERE user_id LIKE %s ORDER BY user_id",
            (_like_prefix(prefix),),
        )
        while rows := cursor.fetchmany(page_size):
            yield [_from_row(row) for row in rows]


def count_dynamodb(dynamodb: Any, table: str) -> int:
    """DynamoDB's item count (refreshed about every six hours on AWS): for progress bars only."""
    return int(dynamodb.describe_table(TableName=table)["Table"].get("ItemCount", 0))


def scan_dynamodb(
    dynamodb: Any,
    table: str,
    *,
    prefix: str = "",
    segments: int = SCAN_SEGMENTS,
    page_size: int = SCAN_PAGE_SIZE,
) -> Iterator[list[StoredUser]]:
    """Every item (or those whose user_id starts with `prefix`), a page at a time, unordered.

    `segments` parallel Scan segments (one thread each) feed a bounded queue, so a big table is
    read at several partitions' speed while at most a few pages sit in memory. Strongly
    consistent, so a write acknowledged before the scan reached its key is seen.
    """
    pages: queue.Queue[list[StoredUser] | BaseException | None] = queue.Queue(maxsize=2 * segments)
    stop = threading.Event()

    def put(page: list[StoredUser] | BaseException | None) -> None:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                pages.put(page, timeout=0.2)
                return

    def read_segment(segment: int) -> None:
        request: dict[str, Any] = {
            "TableName": table,
            "Segment": segment,
            "TotalSegments": segments,
            "Limit": page_size,
            "ConsistentRead": True,
        }
        if prefix:
            request["FilterExpression"] = "begins_with(user_id, :prefix)"
            request["ExpressionAttributeValues"] = {":prefix": {"S": prefix}}
        try:
            while not stop.is_set():
                response = dynamodb.scan(**request)
                put([from_item(item) for item in response.get("Items", [])])
                if "LastEvaluatedKey" not in response:
                    break
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        except BaseException as error:  # handed to the reading thread, which raises it
            put(error)
        put(None)

    threads = [
        threading.Thread(target=read_segment, args=(s,), name=f"scan-{s}", daemon=True)
        for s in range(segments)
    ]
    for thread in threads:
        thread.start()
    try:
        finished = 0
        while finished < segments:
            page = pages.get()
            if page is None:
                finished += 1
            elif isinstance(page, BaseException):
                raise page
            elif page:
                yield page
    finally:
        stop.set()
        for thread in threads:
            thread.join()
