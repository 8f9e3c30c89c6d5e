"""Tumbling-window counts: state across invokes of a window, publication at its final invoke."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest

from changes import windows
from tests.lambdas.changes.conftest import Context, image, record

SEED_EVENT = Path(__file__).resolve().parents[3] / "events" / "seed-stream-event.json"
ADA = image("7", "Ada", "ada@example.com", "2026-11-30T10:00:00.000000Z")


def test_the_seed_event_runs_unchanged_and_carries_its_state() -> None:
    event = json.loads(SEED_EVENT.read_text())

    result = windows.lambda_handler(event, Context())

    # INSERT, MODIFY, REMOVE of item 101; the seed's own state entry is kept as it was.
    assert result == {"state": {"1": "state1", "created": 1, "updated": 1, "removed": 1}}


def test_state_accumulates_across_invokes_of_a_window() -> None:
    window = {"start": "2026-11-30T12:00:00Z", "end": "2026-11-30T12:05:00Z"}
    first = windows.lambda_handler(
        {"Records": [record("INSERT", 1, new=ADA)], "window": window, "state": {}}, Context()
    )
    second = windows.lambda_handler(
        {"Records": [record("MODIFY", 2, old=ADA, new=ADA)], "window": window, **first}, Context()
    )

    assert second == {"state": {"created": 1, "updated": 1}}


@pytest.mark.integration
def test_the_final_invoke_publishes_the_counts(lake: Any, moto_server: Any) -> None:
    window = {"start": "2026-11-30T12:00:00Z", "end": "2026-11-30T12:05:00Z"}
    event = {
        "Records": [record("INSERT", 3, new=ADA)],
        "window": window,
        "state": {"created": 4, "updated": 2},
        "shardId": "shardId-00000001",
        "isFinalInvokeForWindow": True,
        "isWindowTerminatedEarly": False,
    }

    assert windows.lambda_handler(event, Context()) == {"state": {}}

    bucket = os.environ["LAKE_BUCKET"]
    key = "counts/dt=2026-11-30/20261130T120000Z-shardId-00000001.json"
    stored = json.loads(lake.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert stored == {
        "window_start": "2026-11-30T12:00:00Z",
        "window_end": "2026-11-30T12:05:00Z",
        "shard_id": "shardId-00000001",
        "terminated_early": False,
        "created": 5,
        "updated": 2,
        "removed": 0,
    }
    cloudwatch = boto3.client(
        "cloudwatch", endpoint_url=moto_server.endpoint_url, region_name="us-east-1"
    )
    listed = cloudwatch.list_metrics(Namespace="Registrations", MetricName="Changes")["Metrics"]
    assert {d["Value"] for m in listed for d in m["Dimensions"]} >= {
        "created",
        "updated",
        "removed",
    }
