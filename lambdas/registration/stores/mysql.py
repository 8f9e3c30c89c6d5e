"""The ``users`` table in MySQL: credentials, one reused connection, and the order-safe upsert.

Credentials come from Secrets Manager once per container and are cached; an access-denied error
drops the cache so a rotated password is picked up by the next attempt instead of failing until
a cold start. The connection is opened lazily, trusted without a ping right after use, checked
after idling, and rebuilt when the server dropped it.

``VALUES(col)`` is used instead of MySQL 8's ``AS new`` row alias because MariaDB (the local and
test server) does not support the alias; MySQL 8.0/8.4 still accept ``VALUES()`` with a
deprecation note. MySQL evaluates ``ON DUPLICATE KEY UPDATE`` assignments left to right, so every
column compares against the *old* ``version`` and ``version`` itself is assigned last.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, TypeVar

import pymysql
import pymysql.connections
import pymysql.err
from botocore.exceptions import BotoCoreError, ClientError

from registration.config import DatabaseSettings, TlsMode
from registration.errors import CredentialsError, StoreUnavailableError, TransientError
from registration.models import Registration


@dataclass(frozen=True, slots=True)
class DatabaseCredentials:
    username: str
    password: str = field(repr=False)


def fetch_database_credentials(secrets_client: Any, secret_arn: str) -> DatabaseCredentials:
    """Read ``{"username": …, "password": …}`` from the secret; never logs the value."""
    try:
        response = secrets_client.get_secret_value(SecretId=secret_arn)
    except (BotoCoreError, ClientError) as error:
        raise CredentialsError(f"cannot read DB secret: {_describe(error)}") from error
    try:
        document = json.loads(response["SecretString"])
        username, password = document["username"], document["password"]
    except (KeyError, TypeError, ValueError):
        raise CredentialsError(
            "DB secret must be a JSON object with string 'username' and 'password'"
        ) from None
    if not isinstance(username, str) or not isinstance(password, str):
        raise CredentialsError("DB secret 'username' and 'password' must be strings")
    return DatabaseCredentials(username=username, password=password)


def _describe(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__


ER_ACCESS_DENIED = 1045
# CR_SERVER_GONE_ERROR, CR_SERVER_LOST, CR_SERVER_LOST_EXTENDED: the server closed the socket.
CONNECTION_LOST = frozenset({2006, 2013, 2055})
# A connection used this recently is trusted without a ping. Back-to-back batches skip the extra
# round-trip (as costly as the upsert itself); a container thawed after longer is checked first.
TRUST_WITHOUT_PING_S = 5.0
# Strict mode makes over-long data an error instead of a silent truncation, which would let the
# two stores diverge; UTC because DATETIME columns hold UTC wall-clock values.
SESSION_SETUP = (
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO', time_zone = '+00:00'"
)


def build_tls_context(settings: DatabaseSettings) -> ssl.SSLContext | None:
    """``verify``: CA + hostname check; ``require``: encrypted, unverified; ``off``: plaintext."""
    if settings.tls is TlsMode.OFF:
        return None
    if settings.tls is TlsMode.REQUIRE:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context(
        cafile=str(settings.ca_bundle) if settings.ca_bundle else None
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


T = TypeVar("T")


class MySQLConnectionProvider:
    """Hands out a live connection, reusing it across warm invocations."""

    def __init__(
        self,
        settings: DatabaseSettings,
        credentials_loader: Callable[[], DatabaseCredentials],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._load_credentials = credentials_loader
        self._clock = clock
        self._credentials: DatabaseCredentials | None = None
        self._connection: pymysql.connections.Connection | None = None
        self._last_used = float("-inf")
        self._tls_context = build_tls_context(settings)

    def run(
        self,
        work: Callable[[pymysql.connections.Connection], T],
        check_deadline: Callable[[str], None] = lambda step: None,
    ) -> T:
        """Run ``work`` on the connection; raises `StoreUnavailableError` on any MySQL error.

        A recently used connection is trusted without a ping; if the server dropped it meanwhile,
        ``work`` runs once more on a new connection, so ``work`` must be idempotent. A read
        timeout (same error code, after ``read_timeout_s``) is not retried: the server is there
        but slow, and a second wait would spend the invocation's time budget.
        """
        trusted = self._connection is not None and self._recently_used()
        started = self._clock()
        try:
            try:
                return self._run_once(work, check_deadline)
            except pymysql.err.MySQLError as error:
                timed_out = self._clock() - started >= self._settings.read_timeout_s
                if not trusted or timed_out or not is_connection_lost(error):
                    raise
                self.discard(error)
                return self._run_once(work, check_deadline)
        except pymysql.err.MySQLError as error:
            self.discard(error)
            raise StoreUnavailableError(f"MySQL unavailable: {describe_error(error)}") from error
        except TransientError:
            self.discard()
            raise
        except Exception as error:
            # pymysql raises more than MySQLError (RuntimeError when the server asks for an auth
            # plugin whose package the zip lacks, ValueError, OSError from TLS set-up): for the
            # batch it is the same store outage, never a crash of the invocation.
            self.discard()
            raise StoreUnavailableError(f"MySQL client failed: {type(error).__name__}") from error

    def _run_once(
        self,
        work: Callable[[pymysql.connections.Connection], T],
        check_deadline: Callable[[str], None],
    ) -> T:
        result = work(self._checked_connection(check_deadline))
        self._last_used = self._clock()
        return result

    def _checked_connection(
        self, check_deadline: Callable[[str], None]
    ) -> pymysql.connections.Connection:
        """The connection to use, each blocking step started only with its time reserve left."""
        connection = self._connection
        if connection is not None and self._recently_used():
            return connection
        if connection is not None:
            check_deadline("a MySQL ping")
            if self._alive(connection):
                return connection
        self.discard()
        if self._credentials is None:
            check_deadline("the DB secret read")
            self._credentials = self._load_credentials()
        check_deadline("a MySQL connect")
        self._connection = self._connect(self._credentials)
        return self._connection

    def _recently_used(self) -> bool:
        return self._clock() - self._last_used < TRUST_WITHOUT_PING_S

    @staticmethod
    def _alive(connection: pymysql.connections.Connection) -> bool:
        """One round-trip to detect a connection the server dropped while the container idled.

        This is ``ping(reconnect=True)`` spelled out: pymysql 1.2 deprecates the reconnect flag
        (DeprecationWarning) in favour of opening a new connection, which the caller does.
        """
        try:
            connection.ping(reconnect=False)
        except pymysql.err.Error:
            return False
        return True

    def discard(self, error: BaseException | None = None) -> None:
        """Forget the connection (and the credentials after an access-denied error)."""
        if isinstance(error, pymysql.err.OperationalError) and error.args[:1] == (
            ER_ACCESS_DENIED,
        ):
            self._credentials = None
        connection, self._connection = self._connection, None
        self._last_used = float("-inf")
        if connection is not None:
            # "Already closed" is the only error close() raises; nothing is left to release.
            with contextlib.suppress(pymysql.err.Error):
                connection.close()

    def _connect(self, credentials: DatabaseCredentials) -> pymysql.connections.Connection:
        settings = self._settings
        return pymysql.connect(
            host=settings.host,
            port=settings.port,
            user=credentials.username,
            password=credentials.password,
            database=settings.name,
            charset="utf8mb4",
            # Each batch is one INSERT statement, atomic on its own: no COMMIT round-trip.
            autocommit=True,
            connect_timeout=settings.connect_timeout_s,
            read_timeout=settings.read_timeout_s,
            write_timeout=settings.read_timeout_s,
            init_command=SESSION_SETUP,
            ssl=self._tls_context,
            # Without this pymysql would still try TLS opportunistically ("preferred").
            ssl_disabled=self._tls_context is None,
        )


def is_connection_lost(error: BaseException) -> bool:
    """The socket is gone (server restart, failover, idle timeout): a new connection may work."""
    if isinstance(error, pymysql.err.InterfaceError):  # pymysql: "(0, '')" on a closed socket
        return True
    return bool(error.args) and error.args[0] in CONNECTION_LOST


def describe_error(error: BaseException) -> str:
    """``1045 OperationalError``-style summary without the server's message text."""
    code = error.args[0] if error.args and isinstance(error.args[0], int) else None
    name = type(error).__name__
    return f"{name} {code}" if code is not None else name


# pymysql's executemany silently splits its multi-row INSERT where the statement would pass
# max_stmt_length (1,024,000 bytes). The split is made explicit instead, small enough that the
# widest possible row (every field at its limit, every character escaped: ~2.5 KB) never reaches
# pymysql's own split point (a test checks it), so each chunk is exactly one statement.
MAX_ROWS_PER_STATEMENT = 250

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

    def upsert(
        self,
        registrations: Sequence[Registration],
        check_deadline: Callable[[str], None] = lambda step: None,
    ) -> int:
        """Write a batch in multi-row statements of `MAX_ROWS_PER_STATEMENT`; returns the rows.

        Each statement is autocommitted on its own, in user_id order; the batch as a whole is
        not atomic: if a later statement fails, the earlier ones stay written. That is safe
        because the order-safe upsert leaves a row alone unless the version is newer, so the
        retried batch (every valid record is a batch item failure then) changes nothing twice.
        """
        rows = [to_row(registration) for registration in newest_per_user(registrations)]
        if not rows:
            return 0

        def write(connection: pymysql.connections.Connection) -> None:
            with connection.cursor() as cursor:
                for start in range(0, len(rows), MAX_ROWS_PER_STATEMENT):
                    check_deadline("a MySQL statement")
                    # One INSERT … VALUES (…), (…) statement per chunk (pymysql's rewrite).
                    cursor.executemany(UPSERT_USERS, rows[start : start + MAX_ROWS_PER_STATEMENT])

        # Raises StoreUnavailableError on any MySQL error, TimeBudgetExhaustedError from the check.
        self._connections.run(write, check_deadline)
        return len(rows)

    def close(self) -> None:
        self._connections.discard()
