"""Settings from the environment: every problem reported at once, TLS modes and CA bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from registration.config import (
    AWS_CONNECT_TIMEOUT_S,
    AWS_MAX_ATTEMPTS,
    AWS_READ_TIMEOUT_S,
    BUNDLED_CA_PATH,
    RESERVE_MARGIN_MS,
    ConfigError,
    Settings,
    TlsMode,
    minimum_time_reserve_ms,
)

BASE = {
    "TABLE_NAME": "users",
    "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
    "DB_HOST": "db.example.internal",
    "DB_NAME": "registrations",
    "DB_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
    "DB_TLS": "off",
}


def test_complete_environment() -> None:
    settings = Settings.from_environ({**BASE, "DB_PORT": "3307", "TIME_RESERVE_MS": "60000"})
    assert settings.table_name == "users"
    assert settings.database.port == 3307
    assert settings.database.tls is TlsMode.OFF
    assert settings.time_reserve_ms == 60000
    assert settings.database.connect_timeout_s == 3


def test_defaults() -> None:
    settings = Settings.from_environ(BASE)
    assert settings.database.port == 3306
    assert settings.time_reserve_ms == minimum_time_reserve_ms(3, 5)


def test_the_reserve_covers_the_slowest_single_step() -> None:
    """A boto3 call with every attempt and backoff, or a MySQL connect with its reads."""
    aws_call_ms = AWS_MAX_ATTEMPTS * (AWS_CONNECT_TIMEOUT_S + AWS_READ_TIMEOUT_S) * 1000 + sum(
        min(2**retry, 20) * 1000 for retry in range(1, AWS_MAX_ATTEMPTS)
    )
    assert aws_call_ms == 21_000  # 3 attempts of 1 s + 4 s, backoffs of 2 s and 4 s
    assert minimum_time_reserve_ms(1, 1) == aws_call_ms + RESERVE_MARGIN_MS
    assert minimum_time_reserve_ms(3, 5) == (3 + 4 * 5) * 1000 + RESERVE_MARGIN_MS


def test_a_reserve_smaller_than_one_write_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"TIME_RESERVE_MS=3000 is below the \d+ ms one write"):
        Settings.from_environ({**BASE, "TIME_RESERVE_MS": "3000"})
    slower = Settings.from_environ({**BASE, "DB_READ_TIMEOUT": "20"})
    assert slower.time_reserve_ms == minimum_time_reserve_ms(3, 20)


def test_every_missing_variable_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_environ({"DB_TLS": "off"})
    for name in ("TABLE_NAME", "DLQ_URL", "DB_HOST", "DB_NAME", "DB_SECRET_ARN"):
        assert f"{name} is not set" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"), [("DB_PORT", "abc"), ("DB_PORT", "0"), ("DB_TLS", "maybe")]
)
def test_malformed_values(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_environ({**BASE, name: value})


def test_verify_is_the_default_and_uses_the_bundled_rds_ca() -> None:
    environment = {key: value for key, value in BASE.items() if key != "DB_TLS"}
    settings = Settings.from_environ(environment)
    assert settings.database.tls is TlsMode.VERIFY
    assert settings.database.ca_bundle == BUNDLED_CA_PATH
    assert BUNDLED_CA_PATH.read_text().count("BEGIN CERTIFICATE") >= 100


def test_verify_needs_an_existing_ca_bundle(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    with pytest.raises(ConfigError, match="DB_TLS=verify needs a CA bundle"):
        Settings.from_environ({**BASE, "DB_TLS": "verify", "DB_CA_BUNDLE": str(missing)})


def test_verify_with_a_ca_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = Settings.from_environ({**BASE, "DB_TLS": "VERIFY", "DB_CA_BUNDLE": str(bundle)})
    assert settings.database.tls is TlsMode.VERIFY
    assert settings.database.ca_bundle == bundle


def test_require_needs_no_bundle() -> None:
    assert Settings.from_environ({**BASE, "DB_TLS": "require"}).database.ca_bundle is None
