"""The lake writer against S3 on moto: one deterministic object per batch and date."""

from __future__ import annotations

import gzip
import json
import os
from typing import Any

import pytest

from changes import app
from tests.lambdas.changes.conftest import Context, image, record

pytestmark = pytest.mark.integration

DAY_1 = 1_764_504_000.0  # 2025-11-30T12:00:00Z
DAY_2 = DAY_1 + 86_400


@pytest.fixture(autouse=True)
def _cold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "_s3", None)


def user(n: int, name: str = "User") -> dict[str, Any]:
    return image(str(n), f"{name} {n}", f"u{n}@example.com", "2026-11-30T10:00:00.000000Z")


def objects(s3: Any, bucket: str) -> dict[str, list[dict[str, Any]]]:
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {
        o["Key"]: [
            json.loads(line)
            for line in gzip.decompress(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
            .decode()
            .splitlines()
        ]
        for o in listed
    }


def test_a_batch_is_one_object_named_by_its_sequence_numbers(lake: Any) -> None:
    bucket = os.environ["LAKE_BUCKET"]
    event = {"Records": [record("INSERT", 200 + n, new=user(n)) for n in range(5)]}

    assert app.lambda_handler(event, Context()) == {"batchItemFailures": []}

    stored = objects(lake, bucket)
    key = "registrations/dt=2025-11-30/20261130T120000000-200-204.jsonl.gz"
    assert list(stored) == [key]
    assert [row["user_id"] for row in stored[key]] == ["0", "1", "2", "3", "4"]


def test_a_retried_batch_overwrites_itself(lake: Any) -> None:
    bucket = os.environ["LAKE_BUCKET"]
    event = {"Records": [record("INSERT", 300 + n, new=user(n)) for n in range(3)]}
    app.lambda_handler(event, Context())
    first = {o["Key"]: o["ETag"] for o in lake.list_objects_v2(Bucket=bucket)["Contents"]}

    app.lambda_handler(event, Context())  # Lambda retries the same batch

    again = {o["Key"]: o["ETag"] for o in lake.list_objects_v2(Bucket=bucket)["Contents"]}
    assert again == first  # same key, same bytes: no duplicate rows
    assert sum(len(rows) for rows in objects(lake, bucket).values()) == 3


def test_a_batch_across_midnight_is_split_by_date(lake: Any) -> None:
    bucket = os.environ["LAKE_BUCKET"]
    event = {
        "Records": [
            record("INSERT", 400, new=user(1), at=DAY_1),
            record("MODIFY", 401, old=user(1), new=user(1, "Renamed"), at=DAY_2),
        ]
    }

    app.lambda_handler(event, Context())

    stored = objects(lake, bucket)
    assert sorted(stored) == [
        "registrations/dt=2025-11-30/20261130T120000000-400-401.jsonl.gz",
        "registrations/dt=2025-12-01/20261130T120000000-400-401.jsonl.gz",
    ]
    assert [r["change"] for rows in stored.values() for r in rows] == ["created", "updated"]


def test_an_unusable_record_is_reported_and_the_rows_before_it_are_kept(lake: Any) -> None:
    bucket = os.environ["LAKE_BUCKET"]
    poison = record("INSERT", 502, new=user(2))
    poison["dynamodb"]["Keys"] = {"Id": {"N": "2"}}
    event = {
        "Records": [
            record("INSERT", 500, new=user(0)),
            record("INSERT", 501, new=user(1)),
            poison,
            record("INSERT", 503, new=user(3)),
        ]
    }

    assert app.lambda_handler(event, Context()) == {
        "batchItemFailures": [{"itemIdentifier": "502"}]
    }

    stored = objects(lake, bucket)
    assert list(stored) == ["registrations/dt=2025-11-30/20261130T120000000-500-501.jsonl.gz"]
    assert [row["user_id"] for rows in stored.values() for row in rows] == ["0", "1"]


def test_an_empty_batch_writes_nothing(lake: Any) -> None:
    assert app.lambda_handler({"Records": []}, Context()) == {"batchItemFailures": []}
    assert "Contents" not in lake.list_objects_v2(Bucket=os.environ["LAKE_BUCKET"])
