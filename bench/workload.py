"""The messages every row processes, built before any clock starts.

All rows use the tutorial's legacy body ``{"CustID": <int>, "Name": <str>}``: the tutorial
baseline can only read that shape, and the handler accepts it too (user_id = str(CustID),
registered_at = the SQS SentTimestamp), so every row writes the same users.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from registration.models import Registration
from registration.processing import parse_record
from scripts.harness.messages import sqs_bodies

BATCH_SIZE = 10
FUNCTION_NAME = "registration"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAME}"
# The tutorial's table, verbatim (shared by bench.tutorial_baseline and the pre-fill).
CUSTOMER_DDL = (
    "create table if not exists Customer ("
    " CustID int NOT NULL, Name varchar(255) NOT NULL, PRIMARY KEY (CustID))"
)
# A generous invocation budget: the Deadline must never cut a benchmark batch short.
INVOCATION_BUDGET_MS = 900_000


def bodies(count: int, first_id: int = 1) -> list[str]:
    return [
        json.dumps({"CustID": first_id + index, "Name": f"Bench User {first_id + index}"})
        for index in range(count)
    ]


def events(count: int, batch_size: int = BATCH_SIZE, first_id: int = 1) -> list[dict[str, Any]]:
    """SQS events of ``batch_size`` records (the last may be smaller), as Lambda delivers them."""
    all_bodies = bodies(count, first_id)
    sent_ms = int(time.time() * 1000) - 60_000
    return [
        sqs_bodies.event_from_bodies(
            all_bodies[start : start + batch_size], sent_ms=sent_ms + start
        )
        for start in range(0, count, batch_size)
    ]


def registrations(batches: Sequence[dict[str, Any]]) -> list[list[Registration]]:
    """What the handler would store for each event, parsed with the handler's own validator."""
    now = datetime.now(UTC)
    parsed: list[list[Registration]] = []
    for event in batches:
        batch = [parse_record(record, now=now) for record in event["Records"]]
        valid = [item for item in batch if isinstance(item, Registration)]
        if len(valid) != len(batch):
            raise AssertionError("benchmark bodies must all be valid")
        parsed.append(valid)
    return parsed


@dataclass
class FakeContext:
    """The attributes powertools and the handler's Deadline read from Lambda's context."""

    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_name: str = FUNCTION_NAME
    function_version: str = "$LATEST"
    invoked_function_arn: str = FUNCTION_ARN
    memory_limit_in_mb: str = "256"
    log_group_name: str = f"/aws/lambda/{FUNCTION_NAME}"
    log_stream_name: str = "bench"
    deadline_ms: int = field(default_factory=lambda: int(time.time() * 1000) + INVOCATION_BUDGET_MS)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))
