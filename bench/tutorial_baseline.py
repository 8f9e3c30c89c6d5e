"""The tutorial's handler, re-implemented faithfully as the "before" of the comparison.

What it keeps from the tutorial (/work/shared/reference/README.md), because that is the cost
under test: the MySQL connection is opened at import time; only ``Records[0]`` is read (the
tutorial's mapping had batch size 1, so the bench invokes it once per message); every message
runs ``CREATE TABLE IF NOT EXISTS Customer``, an INSERT, ``SELECT * FROM Customer`` with every
row fetched and logged, and a COMMIT.

What it changes, and why that does not flatter it: the INSERT is parameterized instead of an
f-string (the same single round-trip, without the SQL injection); each row is logged at INFO
through a handler writing to /dev/null, so every line is formatted as Lambda would format it but
the bench's output stays readable; and the same conditional DynamoDB PutItem the handler makes is
added per message (the tutorial never wrote its table), so both sides do the same DynamoDB work.

Configuration comes from the environment like the tutorial's (``DB_USER``/``DB_PASSWORD`` in
plain variables, as it had them); ``python -m bench.run`` sets them before importing this module.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

import boto3
import pymysql

from bench.workload import CUSTOMER_DDL
from registration.models import Registration
from registration.stores.dynamodb import DynamoDBStore

logger = logging.getLogger("tutorial_baseline")
logger.setLevel(logging.INFO)
logger.propagate = False
_sink = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the module)
_sink.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
logger.addHandler(_sink)

# The tutorial's import-time connect (it called sys.exit() when this failed).
conn = pymysql.connect(
    host=os.environ["DB_HOST"],
    port=int(os.environ["DB_PORT"]),
    user=os.environ["DB_USER"],
    password=os.environ["DB_PASSWORD"],
    database=os.environ["DB_NAME"],
    connect_timeout=5,
)
dynamodb = DynamoDBStore(boto3.client("dynamodb"), os.environ["TABLE_NAME"])


def lambda_handler(event: dict[str, Any], context: Any) -> str:
    """One message per invocation: DDL, INSERT, full-table SELECT logged row by row, COMMIT."""
    record = event["Records"][0]
    data = json.loads(record["body"])
    cust_id, name = data["CustID"], data["Name"]
    item_count = 0
    with conn.cursor() as cur:
        cur.execute(CUSTOMER_DDL)
        cur.execute("insert into Customer (CustID, Name) values(%s, %s)", (cust_id, name))
        cur.execute("select * from Customer")
        for row in cur.fetchall():
            item_count += 1
            logger.info("%s", row)
    conn.commit()
    registered_at = datetime.fromtimestamp(int(record["attributes"]["SentTimestamp"]) / 1000, UTC)
    dynamodb.put(Registration(str(cust_id), name, None, registered_at))
    return f"Added {item_count} items to RDS MySQL table"
