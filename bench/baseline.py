"""Runs `bench.tutorial_baseline` the way the tutorial's stack ran it: one message per invoke.

Its cost per message is linear in the table size (the full-table SELECT, every row logged), so a
whole run is quadratic: on 2 busy cores 10,000 messages take the better part of an hour. Large N
is therefore *sampled*: the table is pre-filled (untimed) to N - S rows, the last S messages are
timed, and with the full run at a small N this fixes both terms of cost(k) = a + b*k, which is
summed over k = 1..N. `python -m bench.run --baseline-full` measures every message instead.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Sequence
from typing import Any

import pymysql

from bench import workload
from bench.ours import PROCESS_ENVIRONMENT, environment
from bench.workload import FakeContext
from scripts.harness.stack import local_stores

MODULE = "bench.tutorial_baseline"


def run(
    stores: local_stores.ProvisionedStores,
    events: Sequence[dict[str, Any]],
    *,
    dynamodb: Any | None = None,
    prefill: int = 0,
) -> float:
    """Seconds for a cold import (the connect) plus one invocation per single-record event.

    ``dynamodb`` replaces the DynamoDB client (the MySQL-only variant); ``prefill`` rows are put
    into ``Customer`` before the clock starts (ids 1..prefill; the events must start above).
    """
    db = stores.database
    variables = {
        **PROCESS_ENVIRONMENT,
        "AWS_ENDPOINT_URL": stores.endpoint_url,
        "TABLE_NAME": stores.table_name,
        "DB_HOST": db.host,
        "DB_PORT": str(db.port),
        "DB_NAME": db.name,
        "DB_USER": db.username,
        "DB_PASSWORD": db.password,
    }
    if prefill:
        fill_customers(stores, prefill)
    with environment(variables):
        sys.modules.pop(MODULE, None)  # Every row is a new container: import (connect) again.
        started = time.perf_counter()
        module = importlib.import_module(MODULE)
        try:
            if dynamodb is not None:
                module.dynamodb = type(module.dynamodb)(dynamodb, stores.table_name)
            for event in events:
                module.lambda_handler(event, FakeContext())
            return time.perf_counter() - started
        finally:
            module.conn.close()
            sys.modules.pop(MODULE, None)


def fill_customers(stores: local_stores.ProvisionedStores, rows: int) -> None:
    """Create the tutorial's table holding ``rows`` customers (one multi-row INSERT per 1,000)."""
    db = stores.database
    connection = pymysql.connect(
        host=db.host, port=db.port, user=db.username, password=db.password, database=db.name
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(workload.CUSTOMER_DDL)
            for start in range(1, rows + 1, 1000):
                cursor.executemany(
                    "insert into Customer (CustID, Name) values (%s, %s)",
                    [(i, f"Bench User {i}") for i in range(start, min(start + 1000, rows + 1))],
                )
        connection.commit()
    finally:
        connection.close()


def estimate_total(small_n: int, small_s: float, big_n: int, sample: int, sample_s: float) -> float:
    """Total seconds for ``big_n`` messages from cost(k) = a + b*k (k = rows after the insert).

    small run: small_s = a*small_n + b*small_n*(small_n+1)/2;
    sample:    sample_s = a*sample + b*sum(k for the last ``sample`` messages).
    """
    small_sum = small_n * (small_n + 1) / 2
    first = big_n - sample + 1
    sample_sum = (first + big_n) * sample / 2
    det = small_n * sample_sum - sample * small_sum
    a = (small_s * sample_sum - sample_s * small_sum) / det
    b = (small_n * sample_s - sample * small_s) / det
    return a * big_n + b * big_n * (big_n + 1) / 2
