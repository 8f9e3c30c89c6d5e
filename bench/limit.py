"""The floor: the handler's store I/O issued by a bare loop, with no framework around it.

Per batch of ten it sends what the handler sends: one multi-row ``UPSERT_USERS`` and one
conditional PutItem per user, the puts concurrently on a
pool of `STORE_CONCURRENCY` threads as the handler does, built by the store modules' own
functions and constants (``to_row``, ``newest_per_user``, ``to_item``,
``NEWER_VERSION_CONDITION``), so the SQL, the condition and the concurrency cannot drift from
the handler's.
What it leaves out is exactly the overhead under test: event parsing and validation,
powertools BatchProcessor and Logger, the per-invocation ping and the deadline checks.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pymysql

from registration.models import Registration
from registration.resources import AWS_CLIENT_CONFIG, STORE_CONCURRENCY
from registration.stores.dynamodb import NEWER_VERSION_CONDITION, to_item
from registration.stores.mysql import (
    SESSION_SETUP,
    UPSERT_USERS,
    newest_per_user,
    to_row,
)
from scripts.harness.stack import local_stores


def run(
    stores: local_stores.ProvisionedStores,
    batches: Sequence[Sequence[Registration]],
    *,
    dynamodb: Any | None = None,
) -> float:
    """Seconds to write every batch, client and connection setup included (as for the handler).

    ``dynamodb`` replaces the boto3 client (the MySQL-only variant passes a null client).
    """
    started = time.perf_counter()
    client = dynamodb or boto3.client(
        "dynamodb",
        endpoint_url=stores.endpoint_url,
        region_name=local_stores.LOCAL_REGION,
        config=AWS_CLIENT_CONFIG,
        **local_stores.LOCAL_CREDENTIALS,
    )
    db = stores.database
    connection = pymysql.connect(
        host=db.host,
        port=db.port,
        user=db.username,
        password=db.password,
        database=db.name,
        charset="utf8mb4",
        autocommit=True,
        init_command=SESSION_SETUP,
    )

    def put(registration: Registration) -> None:
        # The workload's users are distinct: the condition never fails here.
        client.put_item(
            TableName=stores.table_name,
            Item=to_item(registration),
            ConditionExpression=NEWER_VERSION_CONDITION,
            ExpressionAttributeValues={":version": {"S": registration.version}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )

    pool = ThreadPoolExecutor(max_workers=STORE_CONCURRENCY)
    try:
        with connection.cursor() as cursor:
            for batch in batches:
                newest = newest_per_user(batch)
                cursor.executemany(UPSERT_USERS, [to_row(r) for r in newest])
                list(pool.map(put, newest))
    finally:
        pool.shutdown()
        connection.close()
    return time.perf_counter() - started
