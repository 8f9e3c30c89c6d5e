"""`make chaos` at N = 1,000 as part of `make test`: a database crash and DynamoDB throttling
mid-run, then a DynamoDB outage longer than the retries, a reconcile --repair and a redrive; and
still every valid user in both stores, every invalid message in the DLQ once, 0 lost, 0 divergent.

The stack is the boto3 one of tests/scripts/local_stack (the same resources as the local
profile, without Terraform's minute), with the real zip and the local profile's maxReceiveCount
of 5. MariaDB is this test's own durable server, since it gets SIGKILLed. CHAOS_N overrides N.
"""

from __future__ import annotations

import http.client
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scripts import chaos, package
from scripts.harness.chaos import fault_proxy, faults, messages
from scripts.harness.messages import registrations as reg
from scripts.harness.stack import aws_session, processes
from scripts.harness.stack.mariadb import MariaDBServer
from scripts.harness.stack.moto_server import MotoServer
from tests.scripts.local_stack.conftest import DB_NAME, DB_USER, StackSpec, build_stack

REPO_ROOT = Path(__file__).resolve().parents[2]
FAULT_PLAN = faults.FaultPlan(database_failures=40, throttled_requests=60)
DEAD_LETTER_USERS = 10


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


@pytest.fixture
def upstream() -> Iterator[str]:
    """An HTTP server that answers 200 to everything: what the proxy forwards to."""

    class Ok(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def post(endpoint: str, target: str) -> tuple[int, str]:
    host, port = endpoint.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("POST", "/", b"{}", {"X-Amz-Target": target})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_a_counted_window_closes_after_that_many_requests_hit_it(upstream: str) -> None:
    """However long it takes: the window is closed by traffic, not by a clock."""
    proxy = fault_proxy.FaultProxy(upstream).start()
    try:
        closed = proxy.open(fault_proxy.Fault.OUTAGE, requests=3)
        assert post(proxy.endpoint_url, "AmazonSQS.SendMessage")[0] == 200  # not counted
        answers = [post(proxy.endpoint_url, "DynamoDB_20120810.PutItem") for _ in range(4)]
        assert [status for status, _ in answers] == [500, 500, 500, 200]
        assert "InternalServerError" in answers[0][1]
        assert closed.is_set()
        assert proxy.injected_by == {fault_proxy.Fault.THROTTLE: 0, fault_proxy.Fault.OUTAGE: 3}
        assert proxy.forwarded == 2
        proxy.open(fault_proxy.Fault.THROTTLE)  # open-ended until close()
        assert [post(proxy.endpoint_url, "DynamoDB_20120810.GetItem")[0] for _ in range(5)] == [
            400
        ] * 5
        proxy.close()
        assert post(proxy.endpoint_url, "DynamoDB_20120810.GetItem")[0] == 200
    finally:
        proxy.stop()


def test_bad_arguments_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        chaos.main(["--n", "many"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert chaos.run(["--n", "399"]) == 1
    assert capsys.readouterr().err.strip() == (
        "chaos: --n must be at least 400 (the fault windows need traffic)"
    )


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
    spec = StackSpec(visibility_timeout_s=8, timeout_s=30, max_receive_count=5,
                     maximum_concurrency=4)  # fmt: skip
    session = aws_session.session(aws_session.local_target(endpoint))
    stack = build_stack(session, endpoint, zip_path.read_bytes(), spec=spec,
                        db_port=database.port, db_password=password)  # fmt: skip
    count = int(os.environ.get("CHAOS_N", "1000"))
    target = chaos.ChaosTarget(endpoint, stack, database, zip_path, tmp_path / "ledgers")
    config = chaos.ChaosConfig(count, fault_plan=FAULT_PLAN, dead_letter_users=DEAD_LETTER_USERS)
    result = chaos.run_chaos(target, config)
    out = capsys.readouterr().out
    with capsys.disabled():
        print("\n" + "\n".join(result.lines()))
    assert result.lost == 0, out
    assert result.ok, out
    assert result.invalid_in_dlq == result.invalid > 0
    assert result.duplicates_absorbed == result.duplicates > 0
    assert result.sent + result.rejected_at_send == count + DEAD_LETTER_USERS
    assert result.database_failures >= FAULT_PLAN.database_failures
    assert result.throttles_injected == FAULT_PLAN.throttled_requests
    assert result.dead_lettered == DEAD_LETTER_USERS
    assert 0 < result.divergent_before_repair <= DEAD_LETTER_USERS, out
    assert result.divergent_after_repair == result.divergent_at_end == 0
    assert result.redriven >= DEAD_LETTER_USERS
    assert result.retries > 0, "the faults should have handed records back to SQS"
