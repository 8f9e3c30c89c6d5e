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
# Stop starting new writes when less than this is left; see processing.Deadline.
DEFAULT_TIME_RESERVE_MS = 3000
# Where package.py puts the RDS CA bundle when one is committed beside the handler.
BUNDLED_CA_PATH = Path(__file__).resolve().parent / "certs" / "rds-global-bundle.pem"


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
                connect_timeout_s=integer("DB_CONNECT_TIMEOUT", DEFAULT_DB_CONNECT_TIMEOUT_S),
                read_timeout_s=integer("DB_READ_TIMEOUT", DEFAULT_DB_READ_TIMEOUT_S),
            ),
            time_reserve_ms=integer("TIME_RESERVE_MS", DEFAULT_TIME_RESERVE_MS),
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
