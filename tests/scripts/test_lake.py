"""`make lake` over a lake written by the real `changes` writer on moto's S3."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import boto3
import pytest

from changes import app, rows
from scripts import lake
from scripts.harness.stack.moto_server import MotoServer
from tests.lambdas.changes.conftest import image, record

pytestmark = pytest.mark.integration

DAY_1 = 1_764_504_000.0  # 2025-11-30T12:00:00Z
DAY_2 = DAY_1 + 86_400


@pytest.fixture
def bucket(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A bucket of this test's own; the writer (as in Lambda) finds moto through its env."""
    name = f"lake-{secrets.token_hex(4)}"
    for variable, value in {
        "AWS_ENDPOINT_URL": moto_server.endpoint_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setattr(app, "_s3", None)
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def outputs_file(tmp_path: Path, **values: Any) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(values))
    return path


def write_batch(bucket: str, records: list[dict[str, Any]]) -> None:
    app.write_rows(bucket, records[0]["eventSourceARN"], [rows.change_row(r) for r in records])


def user(n: int, email: str) -> dict[str, Any]:
    return image(str(n), f"User {n}", email, "2026-11-30T10:00:00.000000Z")


def run(moto_server: MotoServer, outputs: Path, *args: str) -> int:
    return lake.run(["--endpoint-url", moto_server.endpoint_url, "--outputs", str(outputs), *args])


def test_the_default_query_counts_per_day(
    bucket: str, moto_server: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_batch(
        bucket, [record("INSERT", 10 + n, new=user(n, "a@x.org"), at=DAY_1) for n in range(3)]
    )
    write_batch(
        bucket,
        [
            record("MODIFY", 20, old=user(0, "a@x.org"), new=user(0, "b@x.org"), at=DAY_2),
            record("INSERT", 21, new=user(9, "c@x.org"), at=DAY_2),
            record("REMOVE", 22, old=user(1, "a@x.org"), at=DAY_2),
        ],
    )

    chart = tmp_path / "chart.png"
    assert (
        run(
            moto_server,
            outputs_file(tmp_path, lake_bucket=bucket),
            "--chart",
            "--chart-path",
            str(chart),
        )
        == 0
    )

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["day", "registrations", "updates", "email_changes", "removals"]
    assert [line.split() for line in lines[2:4]] == [
        ["2025-11-30", "3", "0", "0", "0"],
        ["2025-12-01", "1", "1", "1", "1"],
    ]
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_any_sql_over_the_changes_view(
    bucket: str, moto_server: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_batch(bucket, [record("INSERT", 30 + n, new=user(n, "a@x.org")) for n in range(4)])

    sql = "SELECT count(DISTINCT user_id) AS users, max(sequence_number) AS last FROM changes"
    assert run(moto_server, outputs_file(tmp_path, lake_bucket=bucket), "--sql", sql) == 0

    assert capsys.readouterr().out.splitlines()[2].split() == ["4", "33"]


def test_an_empty_lake_says_so(
    bucket: str, moto_server: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(moto_server, outputs_file(tmp_path, lake_bucket=bucket)) == 0
    assert f"the lake s3://{bucket}/registrations/ is empty" in capsys.readouterr().out


@pytest.mark.parametrize(
    "case",
    [
        (["--sql", "SELECT nope FROM changes"], {}, "query failed: Binder Error"),
        ([], {"lake_bucket": None}, "no lake_bucket output: is the change stream applied?"),
        (["--chart", "--sql", "SELECT 1"], {}, "--chart draws the per-day query"),
    ],
)
def test_bad_input_is_one_line(
    bucket: str,
    moto_server: MotoServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: tuple[list[str], dict[str, Any], str],
) -> None:
    args, values, message = case
    write_batch(bucket, [record("INSERT", 40, new=user(1, "a@x.org"))])

    assert run(moto_server, outputs_file(tmp_path, **{"lake_bucket": bucket, **values}), *args) == 1
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_the_lake_check_finds_duplicates_missing_and_stale_users() -> None:
    def row(user_id: str, seq: int, version: str | None) -> dict[str, Any]:
        return {"user_id": user_id, "sequence_number": str(seq), "new_version": version}

    rows = [row("1", 10, "v1"), row("1", 12, "v2"), row("2", 11, "v1"), row("2", 11, "v1")]

    assert lake.problems(rows, {"1": "v2"}) == ["change 11 appears 2 times in the lake"]
    assert lake.problems(rows[:3], {"1": "v2", "2": "v1"}) == []
    assert lake.problems(rows[:3], {"1": "v3", "3": "v1"}) == [
        "user 1: the lake's latest version v2 is not the table's v3",
        "user 3: no change in the lake",
    ]
