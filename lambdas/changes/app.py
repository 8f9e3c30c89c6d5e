"""Lambda entry point (``changes.app.lambda_handler``) for the users table's stream mapping.

Each batch becomes one gzipped JSON Lines object per event date, under
`registrations/dt=YYYY-MM-DD/<stream>-<first sequence>-<last sequence>.jsonl.gz`. The name is a
function of the batch alone and the bytes are deterministic (sorted keys, gzip mtime 0), so a
batch that Lambda retries after its object was written overwrites that object with the same
rows instead of adding duplicates. (A stream event carries no shard id; the stream label and the
first/last sequence numbers identify a batch as well, since sequence numbers are unique within
a stream.)

The mapping has ``ReportBatchItemFailures``: a record that is not a user change is reported by
its sequence number, so Lambda resumes from it (after the rows before it are written) and, with
bisect-on-error and a retry limit, finally hands it to the on-failure destination while the rest
of the shard moves on. An S3 failure raises: the whole batch is retried.
"""

from __future__ import annotations

import gzip
import json
import os
from collections import defaultdict
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from changes.rows import UnusableRecord, change_row

PREFIX = "registrations"
logger = Logger()
_s3: Any = None


def _client() -> Any:
    global _s3  # noqa: PLW0603 (one client per execution environment, made on first use)
    if _s3 is None:
        _s3 = boto3.client("s3")
    return _s3


def object_key(stream_arn: str, day: str, first: str, last: str) -> str:
    label = "".join(c for c in stream_arn.rsplit("/", 1)[-1] if c.isalnum()) or "stream"
    return f"{PREFIX}/dt={day}/{label}-{first}-{last}.jsonl.gz"


def encode(rows: list[dict[str, Any]]) -> bytes:
    lines = "".join(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n" for row in rows)
    return gzip.compress(lines.encode(), mtime=0)


def write_rows(bucket: str, stream_arn: str, rows: list[dict[str, Any]]) -> list[str]:
    """One object per event date; the batch's first/last sequence numbers name them all."""
    first, last = rows[0]["sequence_number"], rows[-1]["sequence_number"]
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_day[row["dt"]].append(row)
    keys = []
    for day, day_rows in sorted(by_day.items()):
        key = object_key(stream_arn, day, first, last)
        _client().put_object(
            Bucket=bucket,
            Key=key,
            Body=encode(day_rows),
            ContentType="application/x-ndjson",
            ContentEncoding="gzip",
        )
        keys.append(key)
    return keys


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records") or []
    rows: list[dict[str, Any]] = []
    failed: str | None = None
    for record in records:
        try:
            rows.append(change_row(record))
        except UnusableRecord as err:
            failed = str(record.get("dynamodb", {}).get("SequenceNumber", ""))
            logger.error("unusable stream record", extra={"sequence": failed, "reason": str(err)})
            break
    keys = (
        write_rows(os.environ["LAKE_BUCKET"], records[0].get("eventSourceARN", ""), rows)
        if rows
        else []
    )
    logger.info("batch written", extra={"records": len(records), "rows": len(rows), "keys": keys})
    return {"batchItemFailures": [{"itemIdentifier": failed}] if failed else []}
