"""Releases under load on the local stack: the real zip, the runner following the alias, the
release command judging by the metrics the runner publishes.

A good release ends at 100 % on the new version with every registration in both stores; a
broken one (the real sources with one line changed so every record fails) is rolled back
within its bake, its failed batches are redelivered and stored by the old version, and nothing
valid reaches the DLQ.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import package, release, send_messages, verify
from scripts.harness.messages import drain, ledger
from scripts.harness.release import alias
from scripts.harness.stack import aws_session, processes
from scripts.harness.stack.outputs import StackOutputs
from tests.scripts.local_stack.conftest import Database, StackSpec, build_stack

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

REPO_ROOT = Path(__file__).resolve().parents[3]
SOURCES = REPO_ROOT / "lambdas" / "registration"
BAKE_S = 25


def build_variant(tmp_path: Path, name: str, edit: tuple[str, str] | None) -> Path:
    """The registration zip from the real sources, with one line changed (or a marker only)."""
    source = tmp_path / name / "registration"
    shutil.copytree(SOURCES, source, ignore=shutil.ignore_patterns("__pycache__"))
    app = source / "app.py"
    text = app.read_text()
    if edit is not None:
        old, new = edit
        assert old in text, f"the line to break is gone from app.py: {old!r}"
        text = text.replace(old, new, 1)
    app.write_text(text + f"\n# release {name}\n")
    output = tmp_path / name / "registration.zip"
    assert package.main(["--source-dir", str(source), "--output", str(output)]) == 0
    return output


@pytest.fixture(scope="module")
def zip_path() -> Path:
    assert package.main(["--source-dir", str(SOURCES)]) == 0
    return REPO_ROOT / "dist" / "registration.zip"


@pytest.fixture
def live_stack(
    session: aws_session.SessionLike,
    endpoint: str,
    mariadb: Database,
    zip_path: Path,
    tmp_path: Path,
) -> tuple[StackOutputs, Path]:
    """The stack with version 1 behind `live` and the queue's mapping on the alias."""
    stack = build_stack(
        session,
        endpoint,
        zip_path.read_bytes(),
        spec=StackSpec(visibility_timeout_s=10, timeout_s=30, max_receive_count=5),
        db_port=mariadb.port,
        db_password=mariadb.password,
    )
    lambda_client = session.client("lambda")
    lambda_client.publish_version(FunctionName=stack.function_name)
    alias_arn = lambda_client.create_alias(
        FunctionName=stack.function_name, Name="live", FunctionVersion="1"
    )["AliasArn"]
    lambda_client.update_event_source_mapping(
        UUID=stack.event_source_mapping_uuid, FunctionName=alias_arn
    )
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(stack.to_json())
    return stack, outputs_file


@pytest.fixture
def runner(live_stack: tuple[StackOutputs, Path], endpoint: str, tmp_path: Path) -> Iterator[Path]:
    status = tmp_path / "runner.json"
    log = tmp_path / "runner.log"
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "scripts.local_runner",
             "--status-file", str(status), "--wait-seconds", "1"],
            cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    processes.wait_until(status.exists, timeout_s=60, pid=process.pid, what="runner",
                         log_path=log)  # fmt: skip
    yield log
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


class Load:
    """Registrations sent in small runs, one after another, for as long as the release runs, so
    that batches reach both versions during the bake (each run has its own ledger)."""

    def __init__(self, outputs_file: Path, ledgers: Path) -> None:
        self.outputs_file = outputs_file
        self.ledgers = ledgers
        self.runs: list[Path] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._send, daemon=True)

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=120)

    def _send(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            code = send_messages.main([
                "-n", "30", "--duplicates", "0.1", "--out-of-order", "0.1",
                "--run-id", f"load{n}", "--seed", str(n),
                "--outputs", str(self.outputs_file), "--ledger-dir", str(self.ledgers),
            ])  # fmt: skip
            assert code == 0
            self.runs.append(ledger.resolve(None, self.ledgers))
            self.stop.wait(1.0)


OUTCOMES = ("Stored", "Stale", "Rejected", "Failed")


def handler_count(session: aws_session.SessionLike, outcome: str) -> float:
    """Sum of the handler's `Records<outcome>` over the last hour, as CloudWatch has it."""
    now = time.time()
    datapoints = session.client("cloudwatch").get_metric_statistics(
        Namespace="Registrations",
        MetricName=f"Records{outcome}",
        Dimensions=[{"Name": "service", "Value": "registration"}],
        StartTime=now - 3600,
        EndTime=now + 60,
        Period=3600,
        Statistics=["Sum"],
    )["Datapoints"]
    return sum(d["Sum"] for d in datapoints)


def run_release(endpoint: str, outputs_file: Path, zip_path: Path) -> int:
    return release.run([
        "--endpoint-url", endpoint, "--outputs", str(outputs_file), "start",
        "--zip", str(zip_path), "--canary", "50", "--bake", str(BAKE_S), "--poll", "2",
    ])  # fmt: skip


def settle_and_verify(
    session: aws_session.SessionLike, stack: StackOutputs, outputs_file: Path, load: Load
) -> None:
    left = drain.wait_drained(session.client("sqs"), stack.queue_url, timeout_s=180)
    assert left.empty, f"queue not drained: {left}"
    assert len(load.runs) >= 5
    for run in load.runs:
        assert verify.main(["--outputs", str(outputs_file), "--ledger", str(run)]) == 0


def test_a_good_release_under_load_is_promoted_and_loses_nothing(
    *,
    live_stack: tuple[StackOutputs, Path],
    runner: Path,
    session: aws_session.SessionLike,
    endpoint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack, outputs_file = live_stack
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    good = build_variant(tmp_path, "good", edit=None)
    with Load(outputs_file, tmp_path / "ledgers") as load:
        assert run_release(endpoint, outputs_file, good) == 0

    state = alias.read(session.client("lambda"), stack.function_name)
    assert (state.stable, state.canary) == ("2", None)
    out = capsys.readouterr().out
    assert "promoted: live -> version 2 (100 %)" in out
    assert "now routes {'1': 0.5, '2': 0.5}" in runner.read_text()
    assert "it ran no batch during the bake" not in out
    settle_and_verify(session, stack, outputs_file, load)
    # The handler's own counts came the way they come on AWS: an EMF line in the function's
    # output (the real zip, in the real runtime), extracted by the runner (emf.py).
    counts: dict[str, float] = {}

    def every_record_counted() -> bool:
        """Every record sent was received at least once, and each received one has an outcome
        (both read between two flushes of the runner)."""
        counts.update((name, handler_count(session, name)) for name in (*OUTCOMES, "Received"))
        outcomes = sum(counts[name] for name in OUTCOMES)
        return counts["Received"] >= 30 * len(load.runs) and outcomes == counts["Received"]

    try:
        processes.wait_until(every_record_counted, timeout_s=30, what="the handler's EMF counts")
    except processes.ServerError as err:
        pytest.fail(f"{err}: {counts} for {len(load.runs)} runs of 30")
    assert counts["Stored"] > 0, counts


def test_a_broken_release_is_rolled_back_and_the_old_version_stores_its_records(
    *,
    live_stack: tuple[StackOutputs, Path],
    runner: Path,
    session: aws_session.SessionLike,
    endpoint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack, outputs_file = live_stack
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    broken = build_variant(
        tmp_path,
        "broken",
        edit=("    resources = get_resources()\n", "    raise RuntimeError('broken release')\n"),
    )
    with Load(outputs_file, tmp_path / "ledgers") as load:
        assert run_release(endpoint, outputs_file, broken) == 1

    state = alias.read(session.client("lambda"), stack.function_name)
    assert (state.stable, state.canary) == ("1", None)
    assert state.record["rolled_back"] == "2"
    assert "rolled back (v2 error ratio 100% > v1 0% + 5%)" in capsys.readouterr().out
    settle_and_verify(session, stack, outputs_file, load)  # includes: nothing valid in the DLQ
