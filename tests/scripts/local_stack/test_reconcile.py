"""`make reconcile` against real MariaDB and moto: find every kind of divergence, repair it with
the handler's conditional writes, never overwrite something newer, print ids but no personal data.

Rows are written here with plain SQL and PutItem (not through the code under test); their
`version` is the handler's (registered_at + content digest), which is what the stores hold.
"""

from __future__ import annotations

import dataclasses
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pymysql
import pytest

from registration.models import Registration
from scripts import reconcile
from scripts.harness.messages import divergence, store_readers
from scripts.harness.stack import aws_session
from scripts.harness.stack.outputs import StackOutputs
from tests.scripts.local_stack.conftest import (
    DB_USER,
    Database,
    StackSpec,
    build_stack,
    placeholder_zip,
)

pytestmark = pytest.mark.integration

BASE = datetime(2026, 3, 1, tzinfo=UTC)


def registration(user_id: str, name: str, minutes: int = 0) -> Registration:
    email = f"{name.lower().replace(' ', '.')}@example.com"
    return Registration(user_id, name, email, BASE + timedelta(minutes=minutes))


@dataclasses.dataclass
class Stores:
    session: aws_session.SessionLike
    endpoint: str
    stack: StackOutputs
    connection: pymysql.connections.Connection

    @property
    def dynamodb(self) -> Any:
        return self.session.client("dynamodb")

    def put_dynamodb(self, item: Registration, version: str | None = None) -> None:
        attributes = {
            "user_id": {"S": item.user_id},
            "name": {"S": item.name},
            "registered_at": {"S": item.registered_at_text},
            "version": {"S": version or item.version},
        }
        if item.email is not None:
            attributes["email"] = {"S": item.email}
        self.dynamodb.put_item(TableName=self.stack.table_name, Item=attributes)

    def put_mysql(self, item: Registration) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "REPLACE INTO users (user_id, name, email, registered_at, version) "
                "VALUES (%s, %s, %s, %s, %s)",
                (item.user_id, item.name, item.email,
                 item.registered_at.replace(tzinfo=None), item.version),
            )  # fmt: skip

    def put_both(self, item: Registration) -> None:
        self.put_dynamodb(item)
        self.put_mysql(item)

    def read(self, user_id: str) -> tuple[Any, Any]:
        dynamodb = store_readers.read_dynamodb(self.dynamodb, self.stack.table_name, [user_id])
        mysql = store_readers.read_mysql(self.connection, [user_id])
        return dynamodb.get(user_id), mysql.get(user_id)


@pytest.fixture
def stores(session: aws_session.SessionLike, endpoint: str, mariadb: Database) -> Any:
    """A stack with an empty table and a database of this test's own (with the users table)."""
    name = f"reconcile_{secrets.token_hex(4)}"
    mariadb.server.provision(database=name, user=DB_USER, password=mariadb.password)
    stack = build_stack(session, endpoint, placeholder_zip(), spec=StackSpec(),
                        db_port=mariadb.port, db_password=mariadb.password)  # fmt: skip
    stack = dataclasses.replace(stack, db_name=name)
    connection = pymysql.connect(host="127.0.0.1", port=mariadb.port, user=DB_USER,
                                 password=mariadb.password, database=name, autocommit=True,
                                 charset="utf8mb4")  # fmt: skip
    yield Stores(session, endpoint, stack, connection)
    connection.close()


def diverge(stores: Stores) -> dict[str, Registration]:
    """20 consistent users plus one of each divergence; returns the rows that must win."""
    for index in range(20):
        stores.put_both(registration(f"same-{index:02d}", f"Same Person {index}"))
    winners = {}
    for index in range(3):  # DynamoDB was down past maxReceiveCount: MySQL only
        item = registration(f"mysql-only-{index}", f"Mysql Only {index}")
        stores.put_mysql(item)
        winners[item.user_id] = item
    for index in range(2):
        item = registration(f"dynamodb-only-{index}", f"Dynamo Only {index}")
        stores.put_dynamodb(item)
        winners[item.user_id] = item
    old, new = registration("mysql-newer", "Old Name"), registration("mysql-newer", "New Name", 5)
    stores.put_dynamodb(old)
    stores.put_mysql(new)
    winners[new.user_id] = new
    old, new = registration("dynamodb-newer", "Old Name"), registration("dynamodb-newer", "New", 9)
    stores.put_mysql(old)
    stores.put_dynamodb(new)
    winners[new.user_id] = new
    forged = registration("forged", "Forged Content")
    stores.put_mysql(forged)
    stores.put_dynamodb(registration("forged", "Other Content"), version=forged.version)
    return winners


def test_report_counts_every_kind_and_names_no_one(
    stores: Stores, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    diverge(stores)
    summary = reconcile.reconcile_stores(stores.session, stores.stack, repair=False)
    assert summary.mysql_rows == 26
    assert summary.dynamodb_items == 25
    assert summary.found == {
        divergence.Kind.ONLY_MYSQL: 3,
        divergence.Kind.ONLY_DYNAMODB: 2,
        divergence.Kind.DIFFERENT: 3,
    }
    assert summary.first_ids[divergence.Kind.ONLY_MYSQL] == [f"mysql-only-{i}" for i in range(3)]
    assert sorted(summary.first_ids[divergence.Kind.DIFFERENT]) == [
        "dynamodb-newer", "forged", "mysql-newer"
    ]  # fmt: skip
    assert stores.read("mysql-only-0")[0] is None, "a report must not write"

    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(stores.stack.to_json())
    code = reconcile.run(["--outputs", str(outputs_file), "--endpoint-url", stores.endpoint])
    out = capsys.readouterr().out
    assert code == 1
    assert "reconcile: 3 only in MySQL (first: mysql-only-0, mysql-only-1, mysql-only-2)" in out
    assert "reconcile: 8 user(s) divergent" in out
    for personal in ("Mysql Only", "mysql.only", "Old Name", "@example.com", "Forged"):
        assert personal not in out


def test_repair_writes_the_newer_version_into_the_older_store(stores: Stores) -> None:
    winners = diverge(stores)
    summary = reconcile.reconcile_stores(stores.session, stores.stack, repair=True)
    assert summary.divergent == 8
    assert summary.applied == 7
    assert summary.unordered == ["forged"]
    assert summary.still_divergent == 1
    for user_id, winner in winners.items():
        in_dynamodb, in_mysql = stores.read(user_id)
        assert in_dynamodb == in_mysql, user_id
        assert (in_mysql.name, in_mysql.version) == (winner.name, winner.version)
    in_dynamodb, in_mysql = stores.read("forged")
    assert (in_dynamodb.name, in_mysql.name) == ("Other Content", "Forged Content"), "untouched"

    again = reconcile.reconcile_stores(stores.session, stores.stack, repair=True)
    assert again.divergent == 1
    assert (again.applied, again.still_divergent) == (0, 1)


def test_repair_never_overwrites_a_newer_write_that_raced_it(stores: Stores) -> None:
    """The pipeline wrote a newer version after reconcile read the stores: it must survive."""
    older = registration("raced", "Older")
    stores.put_mysql(older)
    found = [d for page in divergence.find(
        stores.dynamodb, stores.stack.table_name, stores.connection, stores.connection,
        divergence.Summary(),
    ) for d in page]  # fmt: skip
    assert [(d.user_id, d.kind) for d in found] == [("raced", divergence.Kind.ONLY_MYSQL)]
    newer = registration("raced", "Newer", 1)
    stores.put_both(newer)
    writes = divergence.HandlerWrites(stores.dynamodb, stores.stack.table_name, stores.connection)
    summary = divergence.Summary()
    assert divergence.repair(writes, found, summary) == ["raced"]
    assert (summary.applied, summary.already_newer) == (0, 1)
    assert [row.name for row in stores.read("raced")] == ["Newer", "Newer"]

    stale = divergence.Divergence("raced", store_readers.StoredUser(
        "raced", "Older", older.email, older.registered_at_text, older.version), None)  # fmt: skip
    assert divergence.repair(writes, [stale], summary) == ["raced"]
    assert summary.already_newer == 2
    assert [row.name for row in stores.read("raced")] == ["Newer", "Newer"]


def test_scans_page_through_every_row_once(stores: Stores) -> None:
    ids = [f"user-{index:03d}" for index in range(53)]
    for user_id in ids:
        stores.put_both(registration(user_id, "Paged"))
    stores.put_both(registration("other-1", "Not Paged"))
    pages = list(store_readers.scan_dynamodb(
        stores.dynamodb, stores.stack.table_name, prefix="user-", segments=3, page_size=7
    ))  # fmt: skip
    scanned = [user.user_id for page in pages for user in page]
    assert sorted(scanned) == ids
    assert len(pages) >= 53 // 7
    rows = list(store_readers.scan_mysql(stores.connection, prefix="user-", page_size=7))
    assert [len(page) for page in rows] == [7] * 7 + [4]
    assert [user.user_id for page in rows for user in page] == ids  # key order
    assert store_readers.count_mysql(stores.connection) == 54


def test_a_like_prefix_is_literal(stores: Stores) -> None:
    stores.put_both(registration("a_b-1", "Underscore"))
    stores.put_both(registration("axb-1", "Not A Match"))
    rows = list(store_readers.scan_mysql(stores.connection, prefix="a_b"))
    assert [user.user_id for page in rows for user in page] == ["a_b-1"]


def test_bad_arguments_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        reconcile.main(["--segments", "0"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
