"""A small demo end to end: send, the runner runs the real zip, both stores fill, verify passes.

Nothing is faked: the handler from dist/registration.zip runs in worker processes, writes the
session's MariaDB and moto's DynamoDB, dead-letters the invalid bodies; then a row is removed
and verify must catch it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import package, send_messages, verify
from scripts.harness.messages import drain, ledger
from scripts.harness.stack import aws_session, processes
from scripts.harness.stack.outputs import StackOutputs
from tests.scripts.local_stack.conftest import Database, StackSpec, build_stack

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

REPO_ROOT = Path(__file__).resolve().parents[3]
MESSAGES = 100


@pytest.fixture(scope="module")
def zip_path() -> Path:
    """The real package (built if missing or stale; a no-op when unchanged)."""
    assert package.main(["--arch", "x86_64"]) == 0
    return REPO_ROOT / "dist" / "registration.zip"


@pytest.fixture
def real_stack(
    session: aws_session.SessionLike, endpoint: str, mariadb: Database, zip_path: Path
) -> StackOutputs:
    spec = StackSpec(visibility_timeout_s=30, timeout_s=30)
    return build_stack(
        session,
        endpoint,
        zip_path.read_bytes(),
        spec=spec,
        db_port=mariadb.port,
        db_password=mariadb.password,
    )


@pytest.fixture
def runner(
    real_stack: StackOutputs, endpoint: str, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path, Path]]:
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(real_stack.to_json())
    status = tmp_path / "runner.json"
    log = tmp_path / "runner.log"
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "scripts.local_runner",
             "--status-file", str(status), "--wait-seconds", "2"],
            cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    processes.wait_until(status.exists, timeout_s=30, pid=process.pid, what="runner",
                         log_path=log)  # fmt: skip
    yield process, outputs_file, status
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_small_demo_end_to_end(
    *,
    runner: tuple[subprocess.Popen[bytes], Path, Path],
    real_stack: StackOutputs,
    session: aws_session.SessionLike,
    endpoint: str,
    mariadb: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    process, outputs_file, status = runner
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    ledgers = tmp_path / "ledgers"
    started = time.monotonic()
    assert send_messages.main([
        "-n", str(MESSAGES), "--duplicates", "0.1", "--invalid", "0.1", "--out-of-order", "0.1",
        "--outputs", str(outputs_file), "--ledger-dir", str(ledgers),
    ]) == 0  # fmt: skip
    sqs = session.client("sqs")
    left = drain.wait_drained(sqs, real_stack.queue_url, timeout_s=120)
    elapsed = time.monotonic() - started
    assert left.empty, f"queue not drained: {left}"
    stats = json.loads(status.read_text())["stats"]
    print(f"e2e: {MESSAGES} messages drained in {elapsed:.1f} s; runner {stats}")

    latest = ledgers / ledger.LATEST
    assert verify.main(["--outputs", str(outputs_file), "--ledger", str(latest)]) == 0
    report = capsys.readouterr().out
    assert "verify: passed" in report

    # The function's logs are in its log group, Lambda style.
    events = session.client("logs").filter_log_events(logGroupName=real_stack.log_group_name)
    messages = [e["message"] for e in events["events"]]
    assert any(m.startswith("START RequestId: ") for m in messages)
    assert any(m.startswith("REPORT RequestId: ") and "Max Memory Used" in m for m in messages)

    # One row less in MySQL must fail verify.
    run = ledger.read(latest)
    victim = next(m.record.user_id for m in run.messages if m.outcome == "stored" and m.record)
    with mariadb.server.root_connection("registrations") as connection, connection.cursor() as c:
        c.execute("DELETE FROM users WHERE user_id = %s", (victim,))
    assert verify.main(["--outputs", str(outputs_file), "--ledger", str(latest)]) == 1
    assert f"user {victim}: missing in MySQL" in capsys.readouterr().out

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert json.loads(status.read_text())["state"] == "stopped"
