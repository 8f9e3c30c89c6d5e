"""The AWS-side resources the handler needs, created (idempotently) in a moto server.

`make stores-up` and the test session both call `provision` so the function's environment
(docs/CONTRACTS.md) points at real objects: a DynamoDB table keyed by ``user_id``, an SQS queue
for rejected messages, and a Secrets Manager secret holding the MariaDB user's credentials, so
the handler's ``DB_SECRET_ARN`` path runs for real.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


@dataclass(frozen=True)
class StoreNames:
    table_name: str = "registrations-users"
    dlq_name: str = "registrations-dlq"
    secret_name: str = "registrations/db-credentials"  # noqa: S105 (a name, not a secret)
    database: str = "registrations"
    db_user: str = "registrations_app"


@dataclass(frozen=True)
class DatabaseEndpoint:
    host: str
    port: int
    name: str
    username: str
    password: str


@dataclass(frozen=True)
class ProvisionedStores:
    endpoint_url: str
    table_name: str
    dlq_url: str
    secret_arn: str
    database: DatabaseEndpoint

    def function_environment(self) -> dict[str, str]:
        """The handler's environment (CONTRACTS.md names) for these local stores."""
        return {
            "TABLE_NAME": self.table_name,
            "DLQ_URL": self.dlq_url,
            "DB_HOST": self.database.host,
            "DB_PORT": str(self.database.port),
            "DB_NAME": self.database.name,
            "DB_SECRET_ARN": self.secret_arn,
            "DB_TLS": "off",
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "POWERTOOLS_SERVICE_NAME": "registration",
            "POWERTOOLS_METRICS_NAMESPACE": "Registrations",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }


def client(service: str, endpoint_url: str, region: str = LOCAL_REGION) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        config=Config(retries={"mode": "standard", "max_attempts": 2}),
        **LOCAL_CREDENTIALS,
    )


def ensure_table(dynamodb: Any, table_name: str) -> None:
    try:
        dynamodb.create_table(
            TableName=table_name,
            AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except dynamodb.exceptions.ResourceInUseException:
        return
    dynamodb.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )


def ensure_queue(sqs: Any, queue_name: str) -> str:
    """The queue's URL (CreateQueue is idempotent for identical attributes)."""
    return str(sqs.create_queue(QueueName=queue_name)["QueueUrl"])


def ensure_secret(secrets: Any, name: str, value: dict[str, str]) -> str:
    """Create the secret or set its current value; returns its ARN."""
    text = json.dumps(value)
    try:
        return str(secrets.create_secret(Name=name, SecretString=text)["ARN"])
    except secrets.exceptions.ResourceExistsException:
        return str(secrets.put_secret_value(SecretId=name, SecretString=text)["ARN"])


def provision(
    endpoint_url: str, database: DatabaseEndpoint, names: StoreNames | None = None
) -> ProvisionedStores:
    names = names or StoreNames()
    ensure_table(client("dynamodb", endpoint_url), names.table_name)
    dlq_url = ensure_queue(client("sqs", endpoint_url), names.dlq_name)
    secret_arn = ensure_secret(
        client("secretsmanager", endpoint_url),
        names.secret_name,
        {
            "username": database.username,
            "password": database.password,
            "engine": "mysql",
            "host": database.host,
            "port": str(database.port),
            "dbname": database.name,
        },
    )
    return ProvisionedStores(
        endpoint_url=endpoint_url,
        table_name=names.table_name,
        dlq_url=dlq_url,
        secret_arn=secret_arn,
        database=database,
    )


def write_env_file(path: Path, environment: Mapping[str, str]) -> None:
    """``KEY=VALUE`` lines (what scripts.invoke reads as the function environment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{key}={value}" for key, value in sorted(environment.items())]
    path.write_text(
        "# Written by `make stores-up`: the function environment for the local stores.\n"
        + "\n".join(lines)
        + "\n"
    )


def read_env_file(path: Path) -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines; blank lines and ``#`` comments are skipped."""
    environment: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, separator, value = line.partition("=")
        if not separator or not key.strip():
            raise ValueError(f"{path}:{number}: expected KEY=VALUE")
        environment[key.strip()] = value.strip()
    return environment
