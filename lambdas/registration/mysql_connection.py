"""One MySQL connection per container: opened lazily, checked after idling, rebuilt on failure.

Credentials come from Secrets Manager once and are cached; an authentication failure drops the
cache so a rotated password is picked up by the next attempt instead of failing until a cold
start.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Callable
from typing import TypeVar

import pymysql
import pymysql.err

from registration.config import DatabaseSettings, TlsMode
from registration.credentials import DatabaseCredentials
from registration.errors import StoreUnavailableError

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

    def run(self, work: Callable[[pymysql.connections.Connection], T]) -> T:
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
                return self._run_once(work)
            except pymysql.err.MySQLError as error:
                timed_out = self._clock() - started >= self._settings.read_timeout_s
                if not trusted or timed_out or not is_connection_lost(error):
                    raise
                self.discard(error)
                return self._run_once(work)
        except pymysql.err.MySQLError as error:
            self.discard(error)
            raise StoreUnavailableError(f"MySQL unavailable: {describe_error(error)}") from error

    def _run_once(self, work: Callable[[pymysql.connections.Connection], T]) -> T:
        result = work(self._checked_connection())
        self._last_used = self._clock()
        return result

    def _checked_connection(self) -> pymysql.connections.Connection:
        connection = self._connection
        if connection is not None and (self._recently_used() or self._alive(connection)):
            return connection
        self.discard()
        self._connection = self._connect()
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

    def _connect(self) -> pymysql.connections.Connection:
        if self._credentials is None:
            self._credentials = self._load_credentials()
        settings = self._settings
        return pymysql.connect(
            host=settings.host,
            port=settings.port,
            user=self._credentials.username,
            password=self._credentials.password,
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
