"""Smoke test of the benchmark: tiny N, every row runs, results.json has the promised shape.

Benchmarks are not timed tests: nothing here asserts a duration or a ratio's value, only that
each row ran against real stores (the row counts the bench read back) and that the report's
structure is what `make bench` readers (and issue 7) rely on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import run as bench_run

REPO_ROOT = Path(__file__).resolve().parents[2]
N = 20


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "results.json"
    assert (
        bench_run.run(["--n", str(N), "--quick", "--concurrency", "1", "2", "--out", str(out)]) == 0
    )
    return json.loads(out.read_text())


@pytest.mark.integration
def test_every_store_row_wrote_all_users(results: dict) -> None:
    rows = results["rows"]
    names = {(r["row"], r["verified"]["dynamodb_items"] is None) for r in rows}
    for name in ("limit", "ours in-process", "tutorial baseline"):
        assert (name, False) in names and (name, True) in names
    assert ("ours zip", False) in names
    for entry in rows:
        assert entry["n"] == N
        assert entry["verified"]["mysql_rows"] == N, entry
        if entry["dynamodb"] != "null client (MySQL-only)":
            assert entry["verified"]["dynamodb_items"] == N, entry
        assert entry["seconds"] > 0 and entry["messages_per_s"] > 0
        assert entry["mysql"].startswith("MariaDB")


@pytest.mark.integration
def test_ratios_carry_their_raw_figures(results: dict) -> None:
    ratios = results["ratios"]
    assert isinstance(ratios["ours_over_limit"], float)
    assert isinstance(ratios["seed_over_ours_10k"], float)
    for key in ("limit_seconds", "ours_seconds", "seed_seconds", "ours_seconds_at_seed_n"):
        assert ratios[key] > 0
    assert ratios["ours_over_limit_n"] == N and ratios["seed_over_ours_n"] == N
    assert set(ratios["mysql_only"]) >= {"ours_over_limit", "seed_over_ours"}


@pytest.mark.integration
def test_cold_start_packaging_goals_and_local_runner(results: dict) -> None:
    cold = results["cold_start"]
    assert cold["handler_import_ms"] > 0 and cold["boto3_pymysql_import_ms"] > 0
    assert len(cold["samples_ms"]["handler"]) == cold["runs"]
    assert cold["import_profile_self_ms"]
    layers = [layer["layer"] for layer in cold["layers"]]
    assert layers[0] == "boto3 + pymysql" and layers[-1] == "+ registration (the handler)"
    assert all(layer["median_ms"] > 0 for layer in cold["layers"])
    packaging = results["packaging"]
    assert packaging["zip_bytes"] > 0 and packaging["noop_median_s"] > 0
    assert [g["goal"] for g in results["goals"]] == [
        "ours/limit",
        "seed/ours at 10k",
        "cold import / boto3+pymysql",
        "no-op package (s)",
        "round trips/batch at 5 ms",
        "cold import 3.12 / boto3+pymysql",
    ]
    assert all(isinstance(g["met"], bool) or g["value"] is None for g in results["goals"])
    runner = results["local_runner"]
    assert set(runner["by_concurrency"]) == {"1", "2"}
    for entry in runner["by_concurrency"].values():
        assert entry["verified"] == {"mysql_rows": N, "dynamodb_items": N}
        assert entry["runner_stats"]["deleted"] == N


@pytest.mark.parametrize(
    "argv",
    [["--n", "0"], ["--n", "ten"], ["--concurrency", "-1"], ["--bogus"]],
)
def test_bad_arguments_are_one_line_errors(argv: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", *argv],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("bench: ")


@pytest.mark.integration
def test_the_latency_rows_and_the_312_cold_import_are_reported(results: dict) -> None:
    latency = results["latency_5ms"]
    for name in ("limit", "ours in-process"):
        row = latency[name]
        assert row["batch_ms_5ms"] > 0 and row["batch_ms_0ms"] > 0
        assert isinstance(row["round_trips_per_batch"], float)
    assert latency["ours_over_limit_5ms"] > 0
    cold = results["cold_start"]["on_312"]
    assert "skipped" in cold or (cold["python"].startswith("3.12.") and cold["bytecode_in_zip"])
    goals = {goal["goal"] for goal in results["goals"]}
    assert {"round trips/batch at 5 ms", "cold import 3.12 / boto3+pymysql"} <= goals
