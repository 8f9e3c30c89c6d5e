"""Create or update the application's MySQL user, and publish its password to its own secret.

Terraform invokes this function from inside the VPC (`aws_lambda_invocation`, whenever its code or
its input changes); the local stack runs the same code against MariaDB. It logs in with the
RDS-managed master secret, runs the schema migration, creates the application user (or gives it
a new password), grants it exactly the privileges of the event, and writes the password to the
application secret. The password is generated here and goes nowhere else: not into the
response, the logs, or Terraform state. Handlers logged in with the previous password keep their
connections; a new login that fails with 1045 re-reads the secret (the registration handler
does), which is the same path as a rotation.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pymysql
import pymysql.err

from bootstrap.migrations import MIGRATIONS

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

BUNDLED_CA_PATH = Path(__file__).resolve().parent / "certs" / "rds-global-bundle.pem"
CONNECT_TIMEOUT_S = 5
PASSWORD_BYTES = 32  # token_urlsafe: 43 characters, all accepted by MySQL and RDS Proxy
ER_CANNOT_USER = 1396  # CREATE USER of an existing account
TLS_MODES = ("verify", "require", "off")
# What an application user may ever be granted here: data, never schema or account changes.
GRANTABLE = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})
IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")


class BootstrapError(Exception):
    """The event, a secret or the database refuses the bootstrap: the invocation (and so the
    Terraform apply) fails with this message."""


@dataclass(frozen=True)
class Request:
    """What one invocation must do; Terraform builds it (modules/db_bootstrap)."""

    master_secret_arn: str
    application_secret_arn: str
    host: str
    port: int
    database: str
    tls: str
    username: str
    grants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: Any) -> Request:
        """Validate the event, naming every problem at once."""
        if not isinstance(event, dict):
            raise BootstrapError("the event must be a JSON object")
        problems: list[str] = []
        for name in ("master_secret_arn", "application_secret_arn", "host", "database"):
            if not isinstance(event.get(name), str) or not event[name]:
                problems.append(f"{name} must be a non-empty string")
        port = event.get("port")
        if not isinstance(port, int) or not 1 <= port <= 65535:
            problems.append("port must be a TCP port number")
        if event.get("tls") not in TLS_MODES:
            problems.append(f"tls must be one of {', '.join(TLS_MODES)}")
        username = event.get("username")
        if not isinstance(username, str) or not USERNAME.match(username):
            problems.append("username must be 1-32 letters, digits or '_', starting with a letter")
        if not IDENTIFIER.match(str(event.get("database", ""))):
            problems.append("database must be a plain identifier")
        grants = _grants(event.get("grants"), problems)
        if problems:
            raise BootstrapError("; ".join(problems))
        return cls(
            master_secret_arn=event["master_secret_arn"],
            application_secret_arn=event["application_secret_arn"],
            host=event["host"],
            port=port,
            database=event["database"],
            tls=event["tls"],
            username=username,
            grants=grants,
        )


def _grants(raw: Any, problems: list[str]) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict) or not raw:
        problems.append("grants must map at least one table to its privileges")
        return {}
    grants: dict[str, tuple[str, ...]] = {}
    for table, privileges in raw.items():
        if not IDENTIFIER.match(str(table)):
            problems.append(f"grants: {table!r} is not a plain table name")
            continue
        if not isinstance(privileges, list) or not privileges:
            problems.append(f"grants.{table} must list privileges")
            continue
        wanted = {str(privilege).upper() for privilege in privileges}
        if not wanted <= GRANTABLE:
            refused = ", ".join(sorted(wanted - GRANTABLE))
            problems.append(f"grants.{table}: {refused} not grantable (only {sorted(GRANTABLE)})")
            continue
        grants[table] = tuple(sorted(wanted))
    return grants


def read_credentials(secrets_client: Any, secret_arn: str) -> tuple[str, str]:
    """``(username, password)`` of a secret in the RDS shape; the value is never logged."""
    try:
        document = json.loads(secrets_client.get_secret_value(SecretId=secret_arn)["SecretString"])
        return str(document["username"]), str(document["password"])
    except (KeyError, TypeError, ValueError):
        raise BootstrapError(
            f"secret {secret_arn} must hold a JSON object with username and password"
        ) from None


def tls_context(mode: str) -> ssl.SSLContext | None:
    """``verify``: the bundled RDS CA (or DB_CA_BUNDLE) and the host name; ``off``: plaintext."""
    if mode == "off":
        return None
    if mode == "require":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context(
        cafile=os.environ.get("DB_CA_BUNDLE") or str(BUNDLED_CA_PATH)
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def connect(request: Request, username: str, password: str) -> pymysql.connections.Connection:
    try:
        return pymysql.connect(
            host=request.host,
            port=request.port,
            user=username,
            password=password,
            database=request.database,
            ssl=tls_context(request.tls),
            connect_timeout=CONNECT_TIMEOUT_S,
            autocommit=True,
            charset="utf8mb4",
        )
    except pymysql.err.MySQLError as error:
        raise BootstrapError(
            f"cannot log in to {request.host}:{request.port} as the master user: "
            f"{type(error).__name__} {error.args[0] if error.args else ''}".rstrip()
        ) from None


def ensure_user(cursor: Any, request: Request, password: str) -> bool:
    """Create the user (True) or set its new password (False), then grant exactly ``grants``."""
    # '%': the functions' addresses are the ENIs of any private subnet.
    account = (request.username, "%")
    try:
        cursor.execute("CREATE USER %s@%s IDENTIFIED BY %s", (*account, password))
        created = True
    except pymysql.err.OperationalError as error:
        if error.args[0] != ER_CANNOT_USER:
            raise
        cursor.execute("ALTER USER %s@%s IDENTIFIED BY %s", (*account, password))
        # Start from nothing, so a privilege removed from the event is removed from the user.
        cursor.execute("REVOKE ALL PRIVILEGES, GRANT OPTION FROM %s@%s", account)
        created = False
    for table, privileges in request.grants.items():
        cursor.execute(
            f"GRANT {', '.join(privileges)} ON `{request.database}`.`{table}` TO %s@%s", account
        )
    return created


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    return bootstrap(Request.from_event(event), boto3.client("secretsmanager"))


def bootstrap(request: Request, secrets_client: Any) -> dict[str, Any]:
    """Migrate, create or update the user, publish its password; returns what was done."""
    master_username, master_password = read_credentials(secrets_client, request.master_secret_arn)
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    connection = connect(request, master_username, master_password)
    try:
        with connection.cursor() as cursor:
            for statement in MIGRATIONS:
                cursor.execute(statement)
            created = ensure_user(cursor, request, password)
    except pymysql.err.MySQLError as error:
        raise BootstrapError(
            f"MySQL refused the bootstrap: {type(error).__name__} {error.args[0]}"
        ) from None
    finally:
        connection.close()
    version = secrets_client.put_secret_value(
        SecretId=request.application_secret_arn,
        SecretString=json.dumps(
            {
                "engine": "mysql",
                "host": request.host,
                "port": request.port,
                "dbname": request.database,
                "username": request.username,
                "password": password,
            }
        ),
    )
    result = {
        "username": request.username,
        "created": created,
        "grants": {table: list(privileges) for table, privileges in request.grants.items()},
        "migrations": len(MIGRATIONS),
        "secret_version_id": version["VersionId"],
    }
    LOGGER.info("bootstrap done: %s", json.dumps(result, sort_keys=True))
    return result
