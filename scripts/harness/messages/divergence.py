"""Find, and repair, users whose two stores disagree: the engine of `make reconcile`.

The handler writes MySQL first; when DynamoDB then keeps failing past maxReceiveCount the message
goes to the DLQ and MySQL stays ahead until someone redrives. This finds every such user without
holding a store in memory, in two passes:

1. MySQL in key order through a server-side cursor; each page's users read from DynamoDB with
   BatchGetItem: users missing in DynamoDB, and users whose rows differ.
2. A segmented DynamoDB scan; each page's users read from MySQL by key: users missing in MySQL.

Repair writes the newer row into the other store with the handler's own conditional writes, so a
store that meanwhile received something newer keeps it: idempotent, and safe while the pipeline
runs. A row whose `version` does not match its content, or two different rows with one version,
cannot be ordered and is reported, never repaired. Reports name user ids only.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import pymysql

from scripts.harness.messages import store_readers
from scripts.harness.messages.store_readers import StoredUser

LAMBDAS_DIR = Path(__file__).resolve().parents[3] / "lambdas"
FIRST_IDS = 5


class Kind(StrEnum):
    ONLY_MYSQL = "only in MySQL"
    ONLY_DYNAMODB = "only in DynamoDB"
    DIFFERENT = "different in the two stores"


@dataclass(frozen=True)
class Divergence:
    user_id: str
    mysql: StoredUser | None
    dynamodb: StoredUser | None

    @property
    def kind(self) -> Kind:
        if self.dynamodb is None:
            return Kind.ONLY_MYSQL
        if self.mysql is None:
            return Kind.ONLY_DYNAMODB
        return Kind.DIFFERENT

    @property
    def newer(self) -> StoredUser | None:
        """The row to copy into the other store; None when the versions cannot order them."""
        if self.mysql is None or self.dynamodb is None:
            return self.mysql or self.dynamodb
        if self.mysql.version == self.dynamodb.version:
            return None
        return max(self.mysql, self.dynamodb, key=lambda user: user.version)


def compare(
    user_id: str, mysql: StoredUser | None, dynamodb: StoredUser | None
) -> Divergence | None:
    if mysql == dynamodb:
        return None
    return Divergence(user_id, mysql, dynamodb)


@dataclass(frozen=True)
class HandlerStores:
    """The handler's modules whose writes repair uses (lambdas/registration)."""

    models: Any  # Registration
    dynamodb: Any  # DynamoDBStore, WriteOutcome
    mysql: Any  # SESSION_SETUP, UPSERT_USERS, to_row


def handler_stores() -> HandlerStores:
    """The one place that imports the handler's store code."""
    if str(LAMBDAS_DIR) not in sys.path:
        sys.path.append(str(LAMBDAS_DIR))
    # Imported here, not at the top: the handler lives beside the harness, not in it.
    from registration import models  # noqa: PLC0415
    from registration.stores import dynamodb, mysql  # noqa: PLC0415

    return HandlerStores(models, dynamodb, mysql)


class HandlerWrites:
    """The handler's conditional writes (lambdas/registration): the one place that imports them.

    DynamoDB: the handler's DynamoDBStore.put (PutItem if absent or older). MySQL: its
    order-safe upsert statement and row shape, on our own connection (the handler's connection
    provider reads its settings from the function environment).
    """

    def __init__(self, dynamodb: Any, table: str, connection: pymysql.connections.Connection):
        stores = handler_stores()
        self._models = stores.models
        self._mysql = stores.mysql
        self._dynamodb = stores.dynamodb.DynamoDBStore(dynamodb, table)
        self._applied = stores.dynamodb.WriteOutcome.APPLIED
        self._connection = connection
        with connection.cursor() as cursor:
            cursor.execute(stores.mysql.SESSION_SETUP)

    def registration(self, user: StoredUser) -> Any | None:
        """The handler's Registration for a stored row; None if its version does not match."""
        moment = datetime.strptime(user.registered_at, "%Y-%m-%dT%H:%M:%S.%fZ")
        registration = self._models.Registration(
            user.user_id, user.name, user.email, moment.replace(tzinfo=UTC)
        )
        return registration if registration.version == user.version else None

    def to_dynamodb(self, registration: Any) -> bool:
        """True when applied, False when DynamoDB already held this or a newer version."""
        return self._dynamodb.put(registration) == self._applied

    def to_mysql(self, registration: Any) -> bool:
        """True when applied, False when MySQL already held this or a newer version."""
        with self._connection.cursor() as cursor:
            # Affected rows: 1 inserted, 2 updated, 0 left alone (this or a newer version).
            changed = cursor.execute(self._mysql.UPSERT_USERS, self._mysql.to_row(registration))
        self._connection.commit()
        return changed > 0


@dataclass
class Summary:
    """Counts per kind with the first few user ids, and what repair did."""

    mysql_rows: int = 0
    dynamodb_items: int = 0
    found: dict[Kind, int] = field(default_factory=lambda: dict.fromkeys(Kind, 0))
    first_ids: dict[Kind, list[str]] = field(default_factory=lambda: {k: [] for k in Kind})
    unordered: list[str] = field(default_factory=list)
    applied: int = 0
    already_newer: int = 0
    still_divergent: int = 0

    @property
    def divergent(self) -> int:
        return sum(self.found.values())

    def count(self, candidates: Iterable[Divergence | None]) -> list[Divergence]:
        """Count the divergences among `candidates` (None: the user matched); return them."""
        found = [d for d in candidates if d is not None]
        for divergence in found:
            self.found[divergence.kind] += 1
            if len(self.first_ids[divergence.kind]) < FIRST_IDS:
                self.first_ids[divergence.kind].append(divergence.user_id)
        return found

    def lines(self, repaired: bool) -> list[str]:
        lines = [f"{self.mysql_rows} user(s) in MySQL, {self.dynamodb_items} in DynamoDB"]
        for kind in Kind:
            ids = ", ".join(self.first_ids[kind])
            lines.append(f"{self.found[kind]} {kind}" + (f" (first: {ids})" if ids else ""))
        if self.unordered:
            lines.append(
                f"{len(self.unordered)} cannot be ordered (version does not match the content, "
                f"or equal versions with different content), not repaired (first: "
                f"{', '.join(self.unordered[:FIRST_IDS])})"
            )
        if repaired:
            lines.append(
                f"repaired: {self.applied} written, {self.already_newer} already newer in the "
                f"target store; divergent after repair: {self.still_divergent}"
            )
        return lines


Progress = Callable[[int], None]


def _no_progress(_: int) -> None:
    """Progress callback for callers without a bar."""


def find(
    dynamodb: Any,
    table: str,
    scan_connection: pymysql.connections.Connection,
    lookup_connection: pymysql.connections.Connection,
    summary: Summary,
    *,
    segments: int = store_readers.SCAN_SEGMENTS,
    progress: Progress = _no_progress,
) -> Iterator[list[Divergence]]:
    """Both passes; yields each page's divergences (often none) as soon as it is compared,
    counted in `summary` with the rows read.

    `scan_connection` streams MySQL and serves nothing else meanwhile; `lookup_connection` (may
    be the same one: pass 2 starts after pass 1 ends) answers pass 2's lookups.
    """
    for page in store_readers.scan_mysql(scan_connection):
        in_dynamodb = store_readers.read_dynamodb(dynamodb, table, (u.user_id for u in page))
        summary.mysql_rows += len(page)
        progress(len(page))
        yield summary.count(
            compare(user.user_id, user, in_dynamodb.get(user.user_id)) for user in page
        )
    for page in store_readers.scan_dynamodb(dynamodb, table, segments=segments):
        in_mysql = store_readers.read_mysql(lookup_connection, (u.user_id for u in page))
        summary.dynamodb_items += len(page)
        progress(len(page))
        yield summary.count(
            Divergence(u.user_id, None, u) for u in page if u.user_id not in in_mysql
        )


def repair(writes: HandlerWrites, divergences: Iterable[Divergence], summary: Summary) -> list[str]:
    """Copy each newer row into the other store; returns the user ids written or checked."""
    touched: list[str] = []
    for divergence in divergences:
        newer = divergence.newer
        registration = writes.registration(newer) if newer is not None else None
        if registration is None:
            summary.unordered.append(divergence.user_id)
            continue
        write = writes.to_dynamodb if newer is divergence.mysql else writes.to_mysql
        if write(registration):
            summary.applied += 1
        else:
            summary.already_newer += 1
        touched.append(divergence.user_id)
    return touched


def recheck(
    dynamodb: Any, table: str, connection: pymysql.connections.Connection, user_ids: list[str]
) -> int:
    """How many of `user_ids` still differ between the stores (read back after a repair)."""
    if not user_ids:
        return 0
    in_dynamodb = store_readers.read_dynamodb(dynamodb, table, user_ids)
    in_mysql = store_readers.read_mysql(connection, user_ids)
    return sum(in_dynamodb.get(u) != in_mysql.get(u) for u in user_ids)
