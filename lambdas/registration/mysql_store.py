"""The ``users`` table: idempotent schema and an order-safe multi-row upsert.

``VALUES(col)`` is used instead of MySQL 8's ``AS new`` row alias because MariaDB (the local and
test server) does not support the alias; MySQL 8.0/8.4 still accept ``VALUES()`` with a
deprecation note. MySQL evaluates ``ON DUPLICATE KEY UPDATE`` assignments left to right, so every
column compares against the *old* ``version`` and ``version`` itself is assigned last.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Any

import pymysql.connections

from registration.models import VERSION_LENGTH, Registration
from registration.mysql_connection import MySQLConnectionProvider

# user_id and version compare byte-wise (utf8mb4_bin / ascii_bin) exactly as DynamoDB compares
# keys and strings, so both stores agree on identity and on which version is newer.
CREATE_USERS_TABLE = f"""
CREATE TABLE IF NOT EXISTS users (
    user_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    name VARCHAR(200) NOT NULL,
    email VARCHAR(254) NULL,
    registered_at DATETIME(6) NOT NULL,
    version VARCHAR({VERSION_LENGTH}) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    PRIMARY KEY (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""

UPSERT_USERS = """
INSERT INTO users (user_id, name, email, registered_at, version)
VALUES (%s, %s, %s, %s, %s)
ON DUPLICATE KEY UPDATE
    name = IF(VALUES(version) > version, VALUES(name), name),
    email = IF(VALUES(version) > version, VALUES(email), email),
    registered_at = IF(VALUES(version) > version, VALUES(registered_at), registered_at),
    version = IF(VALUES(version) > version, VALUES(version), version)
"""


def newest_per_user(registrations: Iterable[Registration]) -> list[Registration]:
    """Keep the highest version per user, sorted by user id.

    Fewer rows to lock, and a fixed lock order, so concurrent batches touching the same users
    cannot deadlock each other.
    """
    newest: dict[str, Registration] = {}
    for registration in registrations:
        current = newest.get(registration.user_id)
        if current is None or registration.version > current.version:
            newest[registration.user_id] = registration
    return [newest[user_id] for user_id in sorted(newest)]


def to_row(registration: Registration) -> tuple[Any, ...]:
    # DATETIME has no zone: store the UTC wall-clock value.
    registered_at = registration.registered_at.astimezone(UTC).replace(tzinfo=None)
    return (
        registration.user_id,
        registration.name,
        registration.email,
        registered_at,
        registration.version,
    )


class MySQLStore:
    def __init__(self, connections: MySQLConnectionProvider) -> None:
        self._connections = connections
        self._schema_ready = False

    def upsert(self, registrations: Sequence[Registration]) -> int:
        """Write a batch in one multi-row statement (autocommitted); returns the rows sent.

        Safe to repeat: the order-safe upsert leaves a row alone unless the version is newer.
        """
        rows = [to_row(registration) for registration in newest_per_user(registrations)]
        if not rows:
            return 0

        def write(connection: pymysql.connections.Connection) -> None:
            with connection.cursor() as cursor:
                if not self._schema_ready:
                    cursor.execute(CREATE_USERS_TABLE)
                # pymysql rewrites this into a single INSERT … VALUES (…), (…) statement.
                cursor.executemany(UPSERT_USERS, rows)

        self._connections.run(write)  # raises StoreUnavailableError on any MySQL error
        self._schema_ready = True
        return len(rows)

    def close(self) -> None:
        self._connections.discard()
