"""The stores every benchmark row writes to: one MariaDB and one moto server, on free ports.

Rows that are compared (limit, ours, tutorial baseline) must share the same server processes,
so they are started once per bench run through the same harness classes the tests and
`make stores-up` use; each row gets a database, table, DLQ and secret of its own, so every row
inserts fresh users instead of measuring no-op updates of the previous row's data.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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


class LatencyProxy:
    """A TCP proxy on 127.0.0.1:<port> that delivers every reply ``delay_s`` after it arrived.

    In front of moto and MariaDB it adds one network latency of ``delay_s`` (5 ms: an
    in-region call on AWS) to each request/response round trip, whatever the protocol: a reply
    in several TCP chunks is shifted as a whole, not delayed per chunk, and concurrent calls
    overlap their waits as they do on a network.
    """

    def __init__(self, upstream: tuple[str, int], delay_s: float) -> None:
        self._upstream = upstream
        self._delay_s = delay_s
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = [self._listener]
        self.port: int = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self._listener.accept()
                server = socket.create_connection(self._upstream)
                for sock in (client, server):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._sockets += [client, server]
                self._start(self._forward, client, server)
                replies: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()
                self._start(self._receive, server, replies)
                self._start(self._deliver, replies, client)

    @staticmethod
    def _start(target: Any, *args: Any) -> None:
        threading.Thread(target=target, args=args, daemon=True).start()

    @staticmethod
    def _forward(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                target.sendall(chunk)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    @staticmethod
    def _receive(source: socket.socket, replies: queue.SimpleQueue[tuple[float, bytes]]) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                replies.put((time.monotonic(), chunk))
        replies.put((time.monotonic(), b""))

    def _deliver(
        self, replies: queue.SimpleQueue[tuple[float, bytes]], target: socket.socket
    ) -> None:
        with contextlib.suppress(OSError):
            while True:
                arrived, chunk = replies.get()
                wait = arrived + self._delay_s - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if not chunk:
                    target.shutdown(socket.SHUT_WR)
                    return
                target.sendall(chunk)

    def close(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


@contextlib.contextmanager
def behind_latency(
    stores: local_stores.ProvisionedStores, delay_s: float
) -> Iterator[local_stores.ProvisionedStores]:
    """The same stores reached through a `LatencyProxy` each (moto's HTTP and MariaDB's TCP)."""
    endpoint = urlsplit(stores.endpoint_url)
    moto = LatencyProxy((endpoint.hostname or "127.0.0.1", endpoint.port or 80), delay_s)
    mariadb = LatencyProxy((stores.database.host, stores.database.port), delay_s)
    try:
        yield dataclasses.replace(
            stores,
            endpoint_url=f"http://127.0.0.1:{moto.port}",
            database=dataclasses.replace(stores.database, host="127.0.0.1", port=mariadb.port),
        )
    finally:
        moto.close()
        mariadb.close()
