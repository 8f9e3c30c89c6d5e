"""The bootstrap function against the session's MariaDB and moto: the user it creates can do
exactly what the handler needs, its password reaches only the application secret, and a second
run rotates the password and re-applies the grants."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

import boto3
import pymysql
import pymysql.err
import pytest

from bootstrap import app
from scripts.local_stack import provision_master_user
from tests.conftest import DatabaseServer

pytestmark = pytest.mark.integration

HANDLER_GRANTS = {"users": ["SELECT", "INSERT", "UPDATE"]}
ROW = ("u-1", "Ada", None, "2026-11-30 12:00:00", "2026-11-30T12:00:00.000000Z#0")


@pytest.fixture
def secretsmanager(moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in {
        "AWS_ENDPOINT_URL": moto_server.endpoint_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return boto3.client("secretsmanager")


@pytest.fixture
def event(mariadb_server: DatabaseServer, secretsmanager: Any) -> dict[str, Any]:
    """A schema and a master user of this test's own, as RDS would have created them."""
    suffix = secrets.token_hex(4)
    database = f"bootstrap_{suffix}"
    master_password = secrets.token_urlsafe(16)
    provision_master_user(
        mariadb_server.server, database=database, username=f"m{suffix}", password=master_password
    )
    master = secretsmanager.create_secret(
        Name=f"master-{suffix}",
        SecretString=json.dumps({"username": f"m{suffix}", "password": master_password}),
    )
    application = secretsmanager.create_secret(Name=f"app-{suffix}")
    return {
        "master_secret_arn": master["ARN"],
        "application_secret_arn": application["ARN"],
        "host": "127.0.0.1",
        "port": mariadb_server.port,
        "database": database,
        "tls": "off",
        "username": f"app_{suffix}",
        "grants": HANDLER_GRANTS,
    }


def application_login(secretsmanager: Any, event: dict[str, Any]) -> pymysql.Connection:
    secret = json.loads(
        secretsmanager.get_secret_value(SecretId=event["application_secret_arn"])["SecretString"]
    )
    return pymysql.connect(
        host="127.0.0.1",
        port=event["port"],
        user=secret["username"],
        password=secret["password"],
        database=event["database"],
        autocommit=True,
    )


def refused(run: Callable[[], Any]) -> int:
    with pytest.raises(pymysql.err.MySQLError) as caught:
        run()
    return int(caught.value.args[0])


def test_creates_the_table_and_a_user_with_exactly_the_handlers_privileges(
    event: dict[str, Any], secretsmanager: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the function's log level; botocore DEBUG would print bodies
    result = app.lambda_handler(event, None)

    secret = json.loads(
        secretsmanager.get_secret_value(SecretId=event["application_secret_arn"])["SecretString"]
    )
    assert secret["username"] == event["username"]
    assert result["created"] is True
    assert result["grants"] == {"users": ["INSERT", "SELECT", "UPDATE"]}
    assert secret["password"] not in json.dumps(result)
    assert secret["password"] not in caplog.text

    with application_login(secretsmanager, event) as connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO users (user_id, name, email, registered_at, version) "
            "VALUES (%s, %s, %s, %s, %s)",
            ROW,
        )
        cursor.execute("UPDATE users SET name = 'Ada L.' WHERE user_id = 'u-1'")
        cursor.execute("SELECT name FROM users")
        assert cursor.fetchall() == (("Ada L.",),)
        # 1142: command denied. The handler never deletes, creates or drops.
        assert refused(lambda: cursor.execute("DELETE FROM users")) == 1142
        assert refused(lambda: cursor.execute("DROP TABLE users")) == 1142
        assert refused(lambda: cursor.execute("CREATE TABLE other (id INT)")) == 1142
        # Even on the existing table: the handler cannot keep its cold-start CREATE TABLE.
        create_users = "CREATE TABLE IF NOT EXISTS users (id INT)"
        assert refused(lambda: cursor.execute(create_users)) == 1142


def test_a_second_run_rotates_the_password_and_reapplies_the_grants(
    event: dict[str, Any], secretsmanager: Any
) -> None:
    app.lambda_handler(event, None)
    old = application_login(secretsmanager, event)
    old_secret = secretsmanager.get_secret_value(SecretId=event["application_secret_arn"])

    result = app.lambda_handler({**event, "grants": {"users": ["SELECT"]}}, None)

    assert result["created"] is False
    new_secret = secretsmanager.get_secret_value(SecretId=event["application_secret_arn"])
    assert new_secret["VersionId"] != old_secret["VersionId"]
    # A connection opened with the old password lives on; a new login with it is refused (1045),
    # which sends the handler back to the secret.
    with old.cursor() as cursor:
        cursor.execute("SELECT 1")
    old.close()
    stale = json.loads(old_secret["SecretString"])
    assert (
        refused(
            lambda: pymysql.connect(
                host="127.0.0.1",
                port=event["port"],
                user=stale["username"],
                password=stale["password"],
            )
        )
        == 1045
    )
    with application_login(secretsmanager, event) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM users")
        assert (
            refused(
                lambda: cursor.execute(
                    "INSERT INTO users (user_id, name, email, registered_at, version) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    ROW,
                )
            )
            == 1142
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"grants": {"users": ["SELECT", "DROP"]}}, "DROP not grantable"),
        ({"grants": {"users; DROP TABLE users": ["SELECT"]}}, "not a plain table name"),
        ({"username": "app'--"}, "username must be"),
        ({"tls": "maybe", "port": 0}, "port must be a TCP port number; tls must be one of"),
    ],
)
def test_a_bad_event_is_refused_before_any_login(
    event: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    with pytest.raises(app.BootstrapError, match=message):
        app.lambda_handler({**event, **change, "master_secret_arn": "never-read"}, None)


def test_a_wrong_master_password_fails_with_one_line_and_no_secret(
    event: dict[str, Any], secretsmanager: Any
) -> None:
    secretsmanager.put_secret_value(
        SecretId=event["master_secret_arn"],
        SecretString=json.dumps({"username": "nobody", "password": "wrong-password"}),
    )
    with pytest.raises(app.BootstrapError) as caught:
        app.lambda_handler(event, None)
    assert "cannot log in" in str(caught.value) and "wrong-password" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_schema_fits_the_handlers_versions() -> None:
    """The migration's version column is exactly as wide as the handler's versions."""
    from bootstrap.migrations import MIGRATIONS  # noqa: PLC0415
    from registration.models import VERSION_LENGTH  # noqa: PLC0415

    column = f"version VARCHAR({VERSION_LENGTH}) CHARACTER SET ascii COLLATE ascii_bin"
    assert column in MIGRATIONS[0]
