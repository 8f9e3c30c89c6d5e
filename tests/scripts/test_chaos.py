"""`make chaos` at N = 1,000 as part of `make test`: a database crash and DynamoDB throttling
mid-run, and still every valid user in both stores, every invalid message in the DLQ, 0 lost.

The stack is the boto3 one of tests/scripts/local_stack (the same resources as the local
profile, without Terraform's minute), with the real zip, a visibility timeout above both fault
windows and the local profile's maxReceiveCount of 5. MariaDB is this test's own durable server,
since it gets SIGKILLed. CHAOS_N, CHAOS_OUTAGE and CHAOS_THROTTLE override N and the windows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import chaos, package
from scripts.harness.chaos import fault_proxy, messages
from scripts.harness.messages import registrations as reg
from scripts.harness.stack import aws_session, processes
from scripts.harness.stack.mariadb import MariaDBServer
from scripts.harness.stack.moto_server import MotoServer
from tests.scripts.local_stack.conftest import DB_NAME, DB_USER, StackSpec, build_stack

REPO_ROOT = Path(__file__).resolve().parents[2]
# Fault windows (s) for N = 1,000; CHAOS_OUTAGE=10 CHAOS_THROTTLE=8 for the full run.
FAULTS = (("OUTAGE", "3"), ("THROTTLE", "4"))


def test_plan_is_the_documented_mix() -> None:
    plan = messages.build(1000, seed=3, run_id="t")
    outcomes = [m.outcome for m in plan]
    assert len(plan) == 1000
    assert outcomes.count(reg.DLQ) == 50  # 5% invalid
    assert outcomes.count(reg.ABSORBED) == 30  # 3% duplicates
    assert {m.reason for m in plan if m.outcome == reg.DLQ} == set(reg.INVALID_REASONS)
    names = {m.record.name for m in plan if m.record}
    assert set(messages.SPECIAL_NAMES) <= names


def test_plan_predictions_agree_with_the_validator() -> None:
    """Expected reasons are stated independently; the handler must agree with every one."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from registration.validation import ValidationError, parse_registration  # noqa: PLC0415

    for message in messages.build(1000, seed=5, run_id="t"):
        try:
            parse_registration(message.body, {"SentTimestamp": "1"}, now=datetime.now(UTC))
            reason = None
        except ValidationError as error:
            reason = str(error.reason)
        assert reason == message.reason, message.body[:100]


def test_proxy_throttles_only_dynamodb_while_open() -> None:
    import http.client  # noqa: PLC0415

    upstream = fault_proxy.FaultProxy("http://127.0.0.1:9")  # never reached while throttling
    upstream.start()
    try:
        upstream.throttle(True)
        host, port = upstream.endpoint_url.removeprefix("http://").split(":")
        answers = []
        for _ in range(2):
            connection = http.client.HTTPConnection(host, int(port), timeout=5)
            connection.request("POST", "/", b"{}", {"X-Amz-Target": "DynamoDB_20120810.PutItem"})
            response = connection.getresponse()
            answers.append((response.status, response.read().decode()))
            connection.close()
        assert [status for status, _ in answers] == [400, 400]
        assert "ProvisionedThroughputExceededException" in answers[0][1]
        assert "ThrottlingException" in answers[1][1]
        assert upstream.injected == 2
    finally:
        upstream.stop()


def test_bad_arguments_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        chaos.main(["--n", "many"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert chaos.run(["--n", "1000", "--outage", "30", "--visibility", "20"]) == 1
    assert capsys.readouterr().err.strip().startswith("chaos: --visibility must exceed")


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[str]:
    """A moto of this test's own (the stack uses fixed names, and the run takes a while)."""
    server = MotoServer(tmp_path / "moto", port=processes.free_port())
    server.start()
    yield server.endpoint_url
    server.stop()


@pytest.fixture
def crashable_mariadb(tmp_path: Path) -> Iterator[tuple[MariaDBServer, str]]:
    server = MariaDBServer(tmp_path / "mariadb", port=processes.free_port(), durable=True)
    server.start()
    password = "chaos-" + os.urandom(8).hex()
    server.provision(database=DB_NAME, user=DB_USER, password=password)
    yield server, password
    server.stop()


@pytest.mark.e2e
@pytest.mark.integration
def test_chaos_run_loses_nothing(
    endpoint: str,
    crashable_mariadb: tuple[MariaDBServer, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert package.main(["--arch", "x86_64"]) == 0
    zip_path = REPO_ROOT / "dist" / "registration.zip"
    database, password = crashable_mariadb
    outage, throttle = (float(os.environ.get(f"CHAOS_{k}", d)) for k, d in FAULTS)
    # Above both windows: a record fails at most once per window, well below maxReceiveCount.
    visibility = int(max(outage, throttle)) + 5
    spec = StackSpec(visibility_timeout_s=visibility, timeout_s=10, max_receive_count=5,
                     maximum_concurrency=4)  # fmt: skip
    session = aws_session.session(aws_session.local_target(endpoint))
    stack = build_stack(session, endpoint, zip_path.read_bytes(), spec=spec,
                        db_port=database.port, db_password=password)  # fmt: skip
    count = int(os.environ.get("CHAOS_N", "1000"))
    target = chaos.ChaosTarget(endpoint, stack, database, zip_path, tmp_path / "ledgers")
    config = chaos.ChaosConfig(count, outage_s=outage, throttle_s=throttle, drain_timeout_s=1800)
    result = chaos.run_chaos(target, config)
    out = capsys.readouterr().out
    with capsys.disabled():
        print("\n" + "\n".join(result.lines()))
    assert result.lost == 0, out
    assert result.ok, out
    assert result.invalid_in_dlq == result.invalid > 0
    assert result.duplicates_absorbed == result.duplicates > 0
    assert result.sent + result.rejected_at_send == count
    assert result.database_down_s >= outage
    assert result.throttles_injected > 0
    assert result.retries > 0, "the faults should have handed records back to SQS"
