"""The only module-level state: clients and the MySQL connection, built on first use.

Nothing connects at import time (the tutorial's import-time connect killed the whole container
on a database blip); everything built here is reused by later warm invocations.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from registration.config import (
    AWS_CONNECT_TIMEOUT_S,
    AWS_MAX_ATTEMPTS,
    AWS_READ_TIMEOUT_S,
    Settings,
)
from registration.stores.dead_letter import DeadLetterQueue
from registration.stores.dynamodb import DynamoDBStore
from registration.stores.mysql import (
    DatabaseCredentials,
    MySQLConnectionProvider,
    MySQLStore,
    fetch_database_credentials,
)

# Fail fast inside a VPC (a missing route otherwise hangs); "standard" retries back off on
# throttling before the error becomes a batch item failure. The timeouts decide the time reserve
# (config.minimum_time_reserve_ms).
# botocore's "max_attempts" key counts retries only (one more call than its name says), so the
# total is spelled out.
AWS_CLIENT_CONFIG = Config(
    connect_timeout=AWS_CONNECT_TIMEOUT_S,
    read_timeout=AWS_READ_TIMEOUT_S,
    retries={"mode": "standard", "total_max_attempts": AWS_MAX_ATTEMPTS},
)

# Concurrent store calls per invocation: a batch's DynamoDB puts (one per user) and its DLQ send.
# botocore's connection pool holds 10 connections per client, so more threads would only queue.
STORE_CONCURRENCY = 10


@dataclass(frozen=True, slots=True)
class Resources:
    settings: Settings
    dynamodb: DynamoDBStore
    mysql: MySQLStore
    dead_letters: DeadLetterQueue
    pool: ThreadPoolExecutor


@cache
def aws_client(service: str) -> Any:
    return boto3.client(service, config=AWS_CLIENT_CONFIG)


@cache
def get_resources() -> Resources:
    """Build everything once per container; raises `ConfigError` on a bad environment."""
    settings = Settings.from_environ(os.environ)

    def load_credentials() -> DatabaseCredentials:
        return fetch_database_credentials(
            aws_client("secretsmanager"), settings.database.secret_arn
        )

    connections = MySQLConnectionProvider(settings.database, load_credentials)
    return Resources(
        settings=settings,
        dynamodb=DynamoDBStore(aws_client("dynamodb"), settings.table_name),
        mysql=MySQLStore(connections),
        dead_letters=DeadLetterQueue(aws_client("sqs"), settings.dlq_url),
        pool=ThreadPoolExecutor(max_workers=STORE_CONCURRENCY, thread_name_prefix="store"),
    )


def reset() -> None:
    """Drop every cached client and connection (tests; a new environment = a cold start)."""
    if get_resources.cache_info().currsize:
        get_resources().mysql.close()
        get_resources().pool.shutdown()
    get_resources.cache_clear()
    aws_client.cache_clear()
