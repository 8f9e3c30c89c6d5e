"""Settings read once from the function's environment (names fixed in docs/CONTRACTS.md).

Reading them into one frozen object up front turns a misconfigured function into a single clear
error on the first invocation instead of a failure deep inside a store call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

DEFAULT_DB_PORT = 3306
# Short on purpose: inside a VPC an unreachable endpoint otherwise hangs until the Lambda timeout.
DEFAULT_DB_CONNECT_TIMEOUT_S = 3
DEFAULT_DB_READ_TIMEOUT_S = 5
# boto3 clients (DynamoDB, SQS, Secrets Manager): fail fast inside a VPC (the endpoints are in
# the VPC: a connect takes milliseconds or never happens). Attempts in all, the first included.
# The read timeout is as long as it can be without growing the reserve past the MySQL connect's:
# a read that times out after the server acted (a DLQ send) is retried and so duplicated.
AWS_CONNECT_TIMEOUT_S = 1
AWS_READ_TIMEOUT_S = 4
AWS_MAX_ATTEMPTS = 3
# botocore's standard retry mode sleeps up to min(2**i, 20) s before retry i (throttling).
AWS_MAX_BACKOFF_S = 20
# Server reads while a MySQL connection is opened: greeting, TLS handshake, authentication
# result, the session set-up statement (init_command).
MYSQL_CONNECT_READS = 4
# Headroom for our own work around a step (logging, the response) and the clock's granularity.
RESERVE_MARGIN_MS = 1000
# Where package.py puts the RDS CA bundle when one is committed beside the handler.
BUNDLED_CA_PATH = Path(__file__).resolve().parent / "certs" / "rds-global-bundle.pem"


def aws_call_worst_ms() -> int:
    """The longest one boto3 call can take: every attempt timing out, with the longest backoffs."""
    attempts_ms = AWS_MAX_ATTEMPTS * (AWS_CONNECT_TIMEOUT_S + AWS_READ_TIMEOUT_S) * 1000
    backoff_ms = sum(
        min(2**retry, AWS_MAX_BACKOFF_S) * 1000 for retry in range(1, AWS_MAX_ATTEMPTS)
    )
    return attempts_ms + backoff_ms


def minimum_time_reserve_ms(db_connect_timeout_s: int, db_read_timeout_s: int) -> int:
    """The time a step may still take once started, so no step is cut off by the timeout.

    The deadline is checked before every blocking step, so the reserve is the slowest single
    step: a boto3 call (a put, a DLQ send, the DB secret read) with all its attempts, or a MySQL
    connect, which is the TCP connect plus `MYSQL_CONNECT_READS` reads (greeting, TLS,
    authentication, session set-up), each bounded by the read timeout. A statement or a ping is
    one read.
    """
    mysql_connect_ms = (db_connect_timeout_s + MYSQL_CONNECT_READS * db_read_timeout_s) * 1000
    return max(aws_call_worst_ms(), mysql_connect_ms) + RESERVE_MARGIN_MS


class ConfigError(Exception):
    """The function environment is incomplete or contradictory."""


class TlsMode(StrEnum):
    """``DB_TLS``: how the MySQL connection is protected."""

    VERIFY = "verify"
    REQUIRE = "require"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    host: str
    port: int
    name: str
    secret_arn: str
    tls: TlsMode
    ca_bundle: Path | None
    connect_timeout_s: int
    read_timeout_s: int


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    dlq_url: str
    database: DatabaseSettings
    time_reserve_ms: int

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings, reporting every missing or malformed variable at once."""
        problems: list[str] = []

        def required(name: str) -> str:
            value = environ.get(name, "").strip()
            if not value:
                problems.append(f"{name} is not set")
            return value

        def integer(name: str, default: int) -> int:
            raw = environ.get(name, "").strip()
            if not raw:
                return default
            if not raw.isdigit() or int(raw) <= 0:
                problems.append(f"{name} must be a positive integer, got {raw!r}")
                return default
            return int(raw)

        table_name = required("TABLE_NAME")
        dlq_url = required("DLQ_URL")
        host = required("DB_HOST")
        db_name = required("DB_NAME")
        secret_arn = required("DB_SECRET_ARN")
        port = integer("DB_PORT", DEFAULT_DB_PORT)
        tls = _tls_mode(environ.get("DB_TLS", "").strip() or TlsMode.VERIFY, problems)
        ca_bundle = _ca_bundle(tls, environ.get("DB_CA_BUNDLE", "").strip(), problems)
        connect_timeout_s = integer("DB_CONNECT_TIMEOUT", DEFAULT_DB_CONNECT_TIMEOUT_S)
        read_timeout_s = integer("DB_READ_TIMEOUT", DEFAULT_DB_READ_TIMEOUT_S)
        minimum_reserve_ms = minimum_time_reserve_ms(connect_timeout_s, read_timeout_s)
        time_reserve_ms = integer("TIME_RESERVE_MS", minimum_reserve_ms)
        if time_reserve_ms < minimum_reserve_ms:
            problems.append(
                f"TIME_RESERVE_MS={time_reserve_ms} is below the {minimum_reserve_ms} ms one write "
                f"step can take (a MySQL connect with DB_CONNECT_TIMEOUT={connect_timeout_s} s "
                f"and DB_READ_TIMEOUT={read_timeout_s} s, or a boto3 call of {AWS_MAX_ATTEMPTS} "
                "attempts); leave it unset to use that"
            )
        settings = cls(
            table_name=table_name,
            dlq_url=dlq_url,
            database=DatabaseSettings(
                host=host,
                port=port,
                name=db_name,
                secret_arn=secret_arn,
                tls=tls,
                ca_bundle=ca_bundle,
                connect_timeout_s=connect_timeout_s,
                read_timeout_s=read_timeout_s,
            ),
            time_reserve_ms=time_reserve_ms,
        )
        if problems:
            raise ConfigError("invalid function environment: " + "; ".join(problems))
        return settings


def _tls_mode(raw: str, problems: list[str]) -> TlsMode:
    try:
        return TlsMode(raw.lower())
    except ValueError:
        allowed = ", ".join(mode.value for mode in TlsMode)
        problems.append(f"DB_TLS must be one of {allowed}, got {raw!r}")
        return TlsMode.VERIFY


def _ca_bundle(tls: TlsMode, raw: str, problems: list[str]) -> Path | None:
    """The CA file for ``verify``: ``DB_CA_BUNDLE`` if set, else the bundled RDS CA if shipped."""
    if tls is not TlsMode.VERIFY:
        return Path(raw) if raw else None
    candidate = Path(raw) if raw else BUNDLED_CA_PATH
    if not candidate.is_file():
        problems.append(
            f"DB_TLS=verify needs a CA bundle: {candidate} does not exist (set DB_CA_BUNDLE, "
            "or commit the RDS global bundle as registration/certs/rds-global-bundle.pem)"
        )
        return None
    return candidate
