"""Lambda entry point (``changes.windows.lambda_handler``) for the tumbling-window mapping.

With `tumbling_window_in_seconds`, Lambda hands the function the window (`window.start/end`),
the state the previous invoke of that window returned, and at the end one final invoke
(`isFinalInvokeForWindow`, with `isWindowTerminatedEarly` when the shard ended first). This
handler counts created/updated/removed per window in that state and, at the final invoke,
publishes the counts as the CloudWatch metric `Registrations/Changes` (dimension ChangeType) and
as `counts/dt=YYYY-MM-DD/<window start>-<shard>.json` in the lake.

State keys it does not know are carried unchanged, which is what lets the seed system's own
stream test event (a state of `{"1": "state1"}`) run through it as it is.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from changes.rows import CHANGES, UnusableRecord, change_type

NAMESPACE = "Registrations"
COUNTED = tuple(CHANGES.values())
logger = Logger()


def count(state: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    counted = dict(state)
    for record in records:
        try:
            change = change_type(record)
        except UnusableRecord as err:
            logger.warning("record not counted", extra={"reason": str(err)})
            continue
        counted[change] = int(counted.get(change, 0)) + 1
    return counted


def publish(event: dict[str, Any], counts: dict[str, int]) -> str:
    start = event["window"]["start"]
    when = datetime.fromisoformat(start.replace("Z", "+00:00"))
    shard = "".join(c for c in str(event.get("shardId", "shard")) if c.isalnum() or c in "-_")
    boto3.client("cloudwatch").put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {
                "MetricName": "Changes",
                "Dimensions": [{"Name": "ChangeType", "Value": change}],
                "Timestamp": when,
                "Value": counts[change],
                "Unit": "Count",
            }
            for change in COUNTED
        ],
    )
    key = f"counts/dt={when.date().isoformat()}/{when:%Y%m%dT%H%M%SZ}-{shard}.json"
    body = {
        "window_start": start,
        "window_end": event["window"]["end"],
        "shard_id": event.get("shardId"),
        "terminated_early": bool(event.get("isWindowTerminatedEarly")),
        **counts,
    }
    boto3.client("s3").put_object(
        Bucket=os.environ["LAKE_BUCKET"],
        Key=key,
        Body=json.dumps(body, sort_keys=True).encode(),
        ContentType="application/json",
    )
    return key


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = count(event.get("state") or {}, event.get("Records") or [])
    if not event.get("isFinalInvokeForWindow"):
        return {"state": state}
    counts = {change: int(state.get(change, 0)) for change in COUNTED}
    key = publish(event, counts)
    logger.info(
        "window closed", extra={"window": event.get("window"), "counts": counts, "key": key}
    )
    return {"state": {}}
