"""Stream records shaped like DynamoDB Streams' (NEW_AND_OLD_IMAGES), and a Lambda context."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from scripts.harness.stack.moto_server import MotoServer

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/2026-11-30T12:00:00.000"


@dataclass
class Context:
    function_name: str = "changes"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:changes"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def image(user_id: str, name: str, email: str | None, registered_at: str) -> dict[str, Any]:
    item = {
        "user_id": {"S": user_id},
        "name": {"S": name},
        "registered_at": {"S": registered_at},
        "version": {"S": f"{registered_at}#digest-{name}"},
    }
    if email is not None:
        item["email"] = {"S": email}
    return item


def record(
    event: str,
    sequence: int,
    *,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    at: float = 1_764_504_000.0,  # 2025-11-30T12:00:00Z
) -> dict[str, Any]:
    key = (new or old or {}).get("user_id", {"S": "?"})
    stream: dict[str, Any] = {
        "Keys": {"user_id": key},
        "SequenceNumber": str(sequence),
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
        "ApproximateCreationDateTime": at,
    }
    if old is not None:
        stream["OldImage"] = old
    if new is not None:
        stream["NewImage"] = new
    return {
        "eventID": secrets.token_hex(16),
        "eventName": event,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": stream,
        "eventSourceARN": STREAM_ARN,
    }


@pytest.fixture
def lake(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A bucket of this test's own on the session's moto server; the functions' env points there."""
    bucket = f"lake-{secrets.token_hex(4)}"
    for name, value in {
        "AWS_ENDPOINT_URL": moto_server.endpoint_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LAKE_BUCKET": bucket,
    }.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", endpoint_url=moto_server.endpoint_url, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    yield s3
