"""Database credentials from Secrets Manager (the RDS-managed master secret's JSON shape)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from registration.errors import StoreUnavailableError


@dataclass(frozen=True, slots=True)
class DatabaseCredentials:
    username: str
    password: str = field(repr=False)


class CredentialsError(StoreUnavailableError):
    """The secret could not be read or has the wrong shape; retried, then redriven."""


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
