"""The stores every benchmark row writes to: one MariaDB and one moto server, on free ports.

Rows that are compared (limit, ours, tutorial baseline) must share the same server processes,
so they are started once per bench run through the same harness classes the tests and
`make stores-up` use; each row gets a database, table, DLQ and secret of its own, so every row
inserts fresh users instead of measuring no-op updates of the previous row's data.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.harness.stack import local_stores, processes
from scripts.harness.stack.mariadb import MariaDBServer
from scripts.harness.stack.moto_server import MotoServer

DB_USER = "registrations_app"
# What every row's description says it used; the report prints it next to each figure.
DYNAMODB_BACKEND = "moto server (HTTP, 127.0.0.1)"
MYSQL_BACKEND = "MariaDB (apt, TCP 127.0.0.1, durable: fsync per commit)"


@dataclass(frozen=True)
class Servers:
    """A running MariaDB + moto pair and the application user's password."""

    mariadb: MariaDBServer
    moto: MotoServer
    db_password: str

    def fresh_stores(self, label: str) -> local_stores.ProvisionedStores:
        """A database, table, DLQ and secret of their own for one row (unique names)."""
        suffix = f"{label}_{secrets.token_hex(3)}".replace("-", "_")
        names = local_stores.StoreNames(
            table_name=f"users-{suffix}",
            dlq_name=f"dlq-{suffix}",
            secret_name=f"db-{suffix}",
            database=f"reg_{suffix}"[:64],
            db_user=DB_USER,
        )
        self.mariadb.provision(database=names.database, user=DB_USER, password=self.db_password)
        return local_stores.provision(
            self.moto.endpoint_url,
            local_stores.DatabaseEndpoint(
                host=self.mariadb.host,
                port=self.mariadb.port,
                name=names.database,
                username=DB_USER,
                password=self.db_password,
            ),
            names,
        )

    def mysql_rows(self, stores: local_stores.ProvisionedStores, table: str) -> int:
        """Rows in ``table`` of the row's database (0 when the table was never created)."""
        with (
            self.mariadb.root_connection(stores.database.name) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute(
                "SELECT COUNT(*) FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name = %s",
                (stores.database.name, table),
            )
            if cursor.fetchone() == (0,):
                return 0
            cursor.execute(f"SELECT COUNT(*) FROM `{table}`")
            (count,) = cursor.fetchone()
        return int(count)

    def dynamodb_items(self, stores: local_stores.ProvisionedStores) -> int:
        dynamodb = local_stores.client("dynamodb", self.moto.endpoint_url)
        return sum(
            page["Count"]
            for page in dynamodb.get_paginator("scan").paginate(
                TableName=stores.table_name, Select="COUNT"
            )
        )


@contextlib.contextmanager
def running_servers(prefix: str = "bench-") -> Iterator[Servers]:
    """Start MariaDB and moto on free ports in a temporary directory; always stop both."""
    with tempfile.TemporaryDirectory(prefix=prefix) as base:
        root = Path(base)
        mariadb = MariaDBServer(root / "mariadb", port=processes.free_port())
        moto = MotoServer(root / "moto", port=processes.free_port())
        try:
            mariadb.start()
            moto.start()
            yield Servers(mariadb, moto, secrets.token_urlsafe(16))
        finally:
            moto.stop()
            mariadb.stop()


class NullDynamoDB:
    """A DynamoDB client that accepts every PutItem without doing anything.

    Used only for the "MySQL-only" rows: the moto server's HTTP handling can dominate the
    DynamoDB side, and replacing the client with this in *every* compared row leaves exactly
    the framework + MySQL work to compare.
    """

    def put_item(self, **_: Any) -> dict[str, Any]:
        return {}
