"""The MySQL side against a real MariaDB: schema, order-safe upsert, one statement, TLS, outages."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pymysql
import pymysql.converters
import pymysql.cursors
import pytest

from registration.config import DatabaseSettings, TlsMode
from registration.errors import StoreUnavailableError
from registration.models import Registration
from registration.stores.mysql import (
    MAX_ROWS_PER_STATEMENT,
    TRUST_WITHOUT_PING_S,
    DatabaseCredentials,
    MySQLConnectionProvider,
    MySQLStore,
    newest_per_user,
    to_row,
)
from scripts.harness.stack import processes

if TYPE_CHECKING:
    from tests.conftest import DatabaseServer

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def registration(
    user_id: str, name: str, minutes: int = 0, email: str | None = None
) -> Registration:
    return Registration(user_id, name, email, T0 + timedelta(minutes=minutes))


@pytest.fixture
def database(mariadb_server: DatabaseServer) -> str:
    name = f"store_{secrets.token_hex(4)}"
    mariadb_server.create_database(name)
    return name


StoreFactory = Callable[..., MySQLStore]


@pytest.fixture
def make_store(mariadb_server: DatabaseServer, database: str) -> Iterator[StoreFactory]:
    created: list[MySQLStore] = []

    def make(
        *,
        tls: TlsMode = TlsMode.OFF,
        ca_bundle: Path | None = None,
        port: int | None = None,
        password: str | None = None,
        user: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> MySQLStore:
        settings = DatabaseSettings(
            host="127.0.0.1",
            port=port or mariadb_server.port,
            name=database,
            secret_arn="unused",
            tls=tls,
            ca_bundle=ca_bundle,
            connect_timeout_s=2,
            read_timeout_s=5,
        )
        credentials = DatabaseCredentials(
            user or mariadb_server.user, password or mariadb_server.password
        )
        store = MySQLStore(MySQLConnectionProvider(settings, lambda: credentials, clock=clock))
        created.append(store)
        return store

    yield make
    for store in created:
        store.close()


def rows(mariadb_server: DatabaseServer, database: str) -> dict[str, tuple[str, str | None, str]]:
    connection = mariadb_server.server.root_connection(database)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT user_id, name, email, version FROM users ORDER BY user_id")
        return {user_id: (name, email, version) for user_id, name, email, version in cursor}


def com_insert(mariadb_server: DatabaseServer) -> int:
    with mariadb_server.server.root_connection() as connection, connection.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Com_insert'")
        row = cursor.fetchone()
        assert row is not None
        return int(row[1])


def test_newest_per_user_keeps_the_highest_version_sorted_by_user() -> None:
    batch = [registration("b", "old", 0), registration("a", "x", 0), registration("b", "new", 5)]
    assert [(r.user_id, r.name) for r in newest_per_user(batch)] == [("a", "x"), ("b", "new")]


def test_schema_is_created_on_first_write(
    make_store: StoreFactory, mariadb_server: DatabaseServer, database: str
) -> None:
    assert make_store().upsert([registration("u-1", "Ada")]) == 1
    connection = mariadb_server.server.root_connection(database)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, character_set_name, collation_name FROM "
            "information_schema.columns WHERE table_schema = %s AND table_name = 'users'",
            (database,),
        )
        columns = {name: (charset, collation) for name, charset, collation in cursor}
    assert columns["user_id"] == ("utf8mb4", "utf8mb4_bin")
    assert columns["version"] == ("ascii", "ascii_bin")
    assert columns["name"][0] == "utf8mb4"


def test_a_batch_is_one_insert_statement(
    make_store: StoreFactory, mariadb_server: DatabaseServer, database: str
) -> None:
    store = make_store()
    store.upsert([registration("warm-up", "W")])  # schema and connection exist from here on
    before = com_insert(mariadb_server)
    store.upsert([registration(f"u-{index}", f"User {index}") for index in range(10)])
    assert com_insert(mariadb_server) - before == 1
    assert len(rows(mariadb_server, database)) == 11


def test_older_registration_never_overwrites_newer(
    make_store: StoreFactory, mariadb_server: DatabaseServer, database: str
) -> None:
    store = make_store()
    store.upsert([registration("u-1", "Newer", 10, "new@example.com")])
    store.upsert([registration("u-1", "Older", 0, "old@example.com")])
    assert rows(mariadb_server, database)["u-1"][:2] == ("Newer", "new@example.com")
    store.upsert([registration("u-1", "Newest", 20)])
    assert rows(mariadb_server, database)["u-1"][:2] == ("Newest", None)


def test_equal_timestamps_tie_break_on_content_in_any_order(
    make_store: StoreFactory, mariadb_server: DatabaseServer, database: str
) -> None:
    first, second = registration("u-1", "Left"), registration("u-1", "Right")
    winner = max(first, second, key=lambda r: r.version)
    store = make_store()
    store.upsert([first])
    store.upsert([second])
    forward = rows(mariadb_server, database)["u-1"]
    with mariadb_server.server.root_connection(database) as connection:
        connection.cursor().execute("DELETE FROM users")
    store.upsert([second])
    store.upsert([first])
    assert rows(mariadb_server, database)["u-1"] == forward
    assert forward[0] == winner.name


def test_redelivery_changes_nothing(
    make_store: StoreFactory, mariadb_server: DatabaseServer, database: str
) -> None:
    store = make_store()
    store.upsert([registration("u-1", "Ada")])
    before = rows(mariadb_server, database)
    store.upsert([registration("u-1", "Ada"), registration("u-1", "Ada")])
    assert rows(mariadb_server, database) == before


def test_four_byte_characters_round_trip(
    make_store: StoreFactory, mariadb_server: DatabaseServer, database: str
) -> None:
    make_store().upsert([registration("u-1", "Ōtani 🎌 李小龍")])
    assert rows(mariadb_server, database)["u-1"][0] == "Ōtani 🎌 李小龍"


def test_user_ids_differing_only_in_case_are_different_users(
    make_store: StoreFactory, mariadb_server: DatabaseServer, database: str
) -> None:
    make_store().upsert([registration("abc", "lower"), registration("ABC", "upper")])
    assert set(rows(mariadb_server, database)) == {"abc", "ABC"}


def test_database_down_is_transient(make_store: StoreFactory) -> None:
    store = make_store(port=processes.free_port())
    with pytest.raises(StoreUnavailableError, match="MySQL unavailable"):
        store.upsert([registration("u-1", "Ada")])


def test_wrong_password_is_transient(make_store: StoreFactory) -> None:
    with pytest.raises(StoreUnavailableError, match="1045"):
        make_store(password="wrong").upsert([registration("u-1", "Ada")])


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def thread_id(store: MySQLStore) -> int:
    return store._connections.run(lambda connection: connection.thread_id())


def kill(mariadb_server: DatabaseServer, thread: int) -> None:
    with mariadb_server.server.root_connection() as root, root.cursor() as cursor:
        cursor.execute("KILL %s", (thread,))


def count_pings(store: MySQLStore, monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """Spy on the cached connection's ping; returns the list each ping appends to."""
    pings: list[None] = []
    connection = store._connections._connection
    assert connection is not None
    real_ping = connection.ping

    def ping(*args: object, **kwargs: object) -> None:
        pings.append(None)
        real_ping(*args, **kwargs)

    monkeypatch.setattr(connection, "ping", ping)
    return pings


@dataclass
class WarmStore:
    store: MySQLStore
    clock: ManualClock
    thread: int
    pings: list[None]


@pytest.fixture
def warm_store(make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch) -> WarmStore:
    """A store after its first write, on a manual clock, with its connection's pings counted."""
    clock = ManualClock()
    store = make_store(clock=clock)
    store.upsert([registration("u-1", "Ada")])
    return WarmStore(store, clock, thread_id(store), count_pings(store, monkeypatch))


def test_back_to_back_batches_reuse_the_connection_without_a_ping(warm_store: WarmStore) -> None:
    warm_store.clock.now += TRUST_WITHOUT_PING_S / 2
    warm_store.store.upsert([registration("u-2", "Bob")])
    assert (thread_id(warm_store.store), warm_store.pings) == (warm_store.thread, [])


def test_an_idle_connection_is_pinged_and_replaced_when_the_server_dropped_it(
    warm_store: WarmStore, mariadb_server: DatabaseServer, database: str
) -> None:
    kill(mariadb_server, warm_store.thread)
    warm_store.clock.now += TRUST_WITHOUT_PING_S + 1
    warm_store.store.upsert([registration("u-2", "Bob")])
    assert len(warm_store.pings) == 1 and thread_id(warm_store.store) != warm_store.thread
    assert set(rows(mariadb_server, database)) == {"u-1", "u-2"}


def test_a_trusted_connection_dropped_by_the_server_is_replaced_and_the_write_repeated(
    warm_store: WarmStore, mariadb_server: DatabaseServer, database: str
) -> None:
    kill(mariadb_server, warm_store.thread)
    warm_store.store.upsert([registration("u-2", "Bob")])  # no ping: the lost write runs again
    assert (warm_store.pings, len(set(rows(mariadb_server, database)))) == ([], 2)
    assert thread_id(warm_store.store) != warm_store.thread


def failing_work(store: MySQLStore, error: pymysql.err.MySQLError, seconds: float = 0) -> int:
    """Run work that fails with `error` after `seconds` on the store's clock; returns attempts."""
    attempts: list[None] = []
    clock = store._connections._clock
    assert isinstance(clock, ManualClock)

    def work(connection: object) -> None:
        attempts.append(None)
        clock.now += seconds
        raise error

    with pytest.raises(StoreUnavailableError, match=str(error.args[0])):
        store._connections.run(work)
    return len(attempts)


def test_only_a_lost_connection_is_retried(warm_store: WarmStore) -> None:
    deadlock = pymysql.err.OperationalError(1213, "Deadlock found")
    assert failing_work(warm_store.store, deadlock) == 1


def test_a_lost_connection_is_retried_once(warm_store: WarmStore) -> None:
    lost = pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query")
    assert failing_work(warm_store.store, lost) == 2


def test_a_read_timeout_is_not_retried(warm_store: WarmStore) -> None:
    timed_out = pymysql.err.OperationalError(2013, "Lost connection (timed out)")
    assert failing_work(warm_store.store, timed_out, seconds=5) == 1


def _cipher(store: MySQLStore) -> str:
    def cipher(connection: pymysql.connections.Connection) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            row = cursor.fetchone()
            return str(row[1]) if row else ""

    return store._connections.run(cipher)


def test_tls_verify_with_the_ca_bundle(
    make_store: StoreFactory, mariadb_server: DatabaseServer
) -> None:
    store = make_store(tls=TlsMode.VERIFY, ca_bundle=mariadb_server.tls.ca)
    store.upsert([registration("u-1", "Ada")])
    assert _cipher(store)


def test_tls_verify_rejects_a_server_the_bundle_did_not_sign(
    make_store: StoreFactory, mariadb_server: DatabaseServer
) -> None:
    # The server's own certificate is not a CA: verification against it must fail.
    store = make_store(tls=TlsMode.VERIFY, ca_bundle=mariadb_server.tls.cert)
    with pytest.raises(StoreUnavailableError):
        store.upsert([registration("u-1", "Ada")])


def test_tls_require_encrypts_without_verifying(make_store: StoreFactory) -> None:
    store = make_store(tls=TlsMode.REQUIRE)
    store.upsert([registration("u-1", "Ada")])
    assert _cipher(store)


def test_tls_off_is_plaintext(make_store: StoreFactory) -> None:
    store = make_store(tls=TlsMode.OFF)
    store.upsert([registration("u-1", "Ada")])
    assert _cipher(store) == ""


def test_pymysql_error_types_stay_inside_the_store(make_store: StoreFactory) -> None:
    """Callers only ever see StoreUnavailableError, never a pymysql exception."""
    store = make_store()
    too_long = Registration("u-1", "x" * 300, None, T0)  # bypasses validation on purpose
    with pytest.raises(
        StoreUnavailableError, match=r"^MySQL unavailable: DataError 1406$"
    ) as caught:
        store.upsert([too_long])
    assert isinstance(caught.value.__cause__, pymysql.err.MySQLError)
    assert "x" * 10 not in str(caught.value)  # the server's message (with the value) is not kept


def test_a_client_failure_outside_mysql_error_is_a_store_outage(
    make_store: StoreFactory, mariadb_server: DatabaseServer, database: str
) -> None:
    """pymysql raises RuntimeError when the server asks for ed25519 and PyNaCl is not in the zip."""
    user, password = f"ed_{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    with mariadb_server.server.root_connection() as root, root.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.plugins WHERE plugin_name = 'ed25519'"
        )
        if cursor.fetchone() == (0,):
            cursor.execute("INSTALL SONAME 'auth_ed25519'")
        for host in ("127.0.0.1", "localhost"):
            cursor.execute(
                "CREATE USER %s@%s IDENTIFIED VIA ed25519 USING PASSWORD(%s)",
                (user, host, password),
            )
            cursor.execute(f"GRANT ALL ON `{database}`.* TO %s@%s", (user, host))
    store = make_store(user=user, password=password)
    with pytest.raises(StoreUnavailableError, match="MySQL client failed: RuntimeError") as caught:
        store.upsert([registration("u-1", "Ada")])
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_a_large_batch_is_split_into_explicit_statements_in_user_order(
    make_store: StoreFactory, mariadb_server: DatabaseServer, database: str
) -> None:
    store = make_store()
    store.upsert([registration("warm-up", "W")])
    before = com_insert(mariadb_server)
    users = [
        registration(f"u-{index:04d}", f"User {index}")
        for index in range(2 * MAX_ROWS_PER_STATEMENT + 1)
    ]
    assert store.upsert(users) == len(users)
    assert com_insert(mariadb_server) - before == 3
    assert len(rows(mariadb_server, database)) == len(users) + 1


def test_the_statement_limit_fits_pymysqls_split_point_for_the_largest_rows() -> None:
    """Rows at every field's maximum, all escaped, still fit one pymysql statement per chunk."""
    name = "'" * 200  # each quote is escaped to two bytes
    widest = Registration("u" * 64, name, "'" * 64 + "@" + "d" * 185 + ".com", T0)
    literal = "(" + ",".join(pymysql.converters.escape_item(v, "utf8mb4") for v in to_row(widest))
    assert (
        MAX_ROWS_PER_STATEMENT * (len(literal.encode()) + 1)
        < pymysql.cursors.Cursor.max_stmt_length
    )
