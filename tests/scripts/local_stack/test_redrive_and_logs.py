"""`make redrive` and `make logs` against moto.

moto 5.2.5 has no StartMessageMoveTask (it answers HTTP 500), so that path is tested against
`MoveTaskStub`: a proxy in front of moto that speaks StartMessageMoveTask and
ListMessageMoveTasks (SQS JSON protocol) and forwards every other call. Like AWS, its task moves
every message of the source queue with its attributes and a new SentTimestamp.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from scripts import logs, redrive
from scripts.harness.messages import queue_move
from scripts.harness.stack import aws_session
from scripts.harness.stack.outputs import StackOutputs

LEGACY_BODY = '{"CustID": 7002, "Name": "Martha Rivera"}'
TARGET_PREFIX = "AmazonSQS."


class MoveTaskStub:
    """StartMessageMoveTask / ListMessageMoveTasks over moto; everything else forwarded."""

    def __init__(self, upstream: str, session: aws_session.SessionLike) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._sqs = session.client("sqs")
        self.tasks: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _queue_url(self, arn: str) -> str:
        return self._sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]

    def start_task(self, request: dict[str, Any]) -> dict[str, Any]:
        source, destination = request["SourceArn"], request["DestinationArn"]
        source_url, destination_url = self._queue_url(source), self._queue_url(destination)
        moved = 0
        while messages := self._sqs.receive_message(
            QueueUrl=source_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages"):
            for message in messages:
                attributes = {
                    k: {f: v[f] for f in ("DataType", "StringValue") if f in v}
                    for k, v in message.get("MessageAttributes", {}).items()
                }
                send = {"QueueUrl": destination_url, "MessageBody": message["Body"]}
                self._sqs.send_message(**send, **({"MessageAttributes": attributes}
                                                  if attributes else {}))  # fmt: skip
                self._sqs.delete_message(
                    QueueUrl=source_url, ReceiptHandle=message["ReceiptHandle"]
                )
                moved += 1
        handle = str(uuid.uuid4())
        self.tasks.append({"TaskHandle": handle, "Status": "COMPLETED", "SourceArn": source,
                           "DestinationArn": destination,
                           "ApproximateNumberOfMessagesMoved": moved})  # fmt: skip
        return {"TaskHandle": handle}

    def list_tasks(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"Results": [t for t in self.tasks if t["SourceArn"] == request["SourceArn"]]}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self
        actions = {"StartMessageMoveTask": stub.start_task, "ListMessageMoveTasks": stub.list_tasks}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = self.headers.get("X-Amz-Target", "").removeprefix(TARGET_PREFIX)
                if action in actions:
                    self._answer(200, json.dumps(actions[action](json.loads(body))).encode(),
                                 {"Content-Type": "application/x-amz-json-1.0"})  # fmt: skip
                    return
                upstream = http.client.HTTPConnection(*stub._upstream, timeout=30)
                try:
                    upstream.request("POST", self.path, body=body, headers=dict(self.headers))
                    response = upstream.getresponse()
                    kept = {k: v for k, v in response.getheaders()
                            if k.lower() not in ("content-length", "transfer-encoding",
                                                 "connection")}  # fmt: skip
                    self._answer(response.status, response.read(), kept)
                finally:
                    upstream.close()

            def _answer(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        return Handler


@pytest.fixture
def move_task_stub(endpoint: str, session: aws_session.SessionLike) -> Iterator[MoveTaskStub]:
    stub = MoveTaskStub(endpoint, session)
    yield stub
    stub.stop()


def drain_queue(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    received = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
        AttributeNames=["SentTimestamp"],
    ).get("Messages"):  # fmt: skip
        received += batch
    return received


def dlq_sent_timestamps(sqs: Any, dlq_url: str) -> dict[str, str]:
    """Body -> SentTimestamp of every DLQ message, leaving them visible."""
    messages = drain_queue(sqs, dlq_url)
    sqs.change_message_visibility_batch(QueueUrl=dlq_url, Entries=[
        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
        for i, m in enumerate(messages)
    ])  # fmt: skip
    return {m["Body"]: m["Attributes"]["SentTimestamp"] for m in messages}


def attribute(message: dict[str, Any], name: str) -> str | None:
    value = message.get("MessageAttributes", {}).get(name)
    return value["StringValue"] if value else None


def test_the_move_task_moves_all_but_legacy_bodies_which_keep_their_send_time(
    *,
    session: aws_session.SessionLike,
    stack: StackOutputs,
    outputs_file: Path,
    move_task_stub: MoveTaskStub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", move_task_stub.endpoint_url)
    sqs = session.client("sqs")
    canonical = [
        json.dumps({"user_id": f"u{i}", "name": "N", "registered_at": "2026-01-01T00:00:00Z"})
        for i in range(4)
    ]
    for body in [*canonical, LEGACY_BODY]:
        sqs.send_message(QueueUrl=stack.dlq_url, MessageBody=body)
    sent_at = dlq_sent_timestamps(sqs, stack.dlq_url)
    time.sleep(0.005)  # the copies' own SentTimestamp is then later than the original

    assert redrive.main(["--outputs", str(outputs_file)]) == 0
    out = capsys.readouterr().out
    assert "1 legacy message(s) copied with their original send time" in out
    assert "moved 5 message(s)" in out and "(receive/send/delete + StartMessageMoveTask)" in out
    assert [t["ApproximateNumberOfMessagesMoved"] for t in move_task_stub.tasks] == [4]
    moved = {m["Body"]: m for m in drain_queue(sqs, stack.queue_url)}
    assert sorted(moved) == sorted([*canonical, LEGACY_BODY])
    legacy = moved[LEGACY_BODY]
    assert attribute(legacy, queue_move.ORIGINAL_SENT_TIMESTAMP) == sent_at[LEGACY_BODY]
    assert legacy["MessageAttributes"][queue_move.ORIGINAL_SENT_TIMESTAMP]["DataType"] == "Number"
    assert int(legacy["Attributes"]["SentTimestamp"]) > int(sent_at[LEGACY_BODY])
    assert all(attribute(moved[b], queue_move.ORIGINAL_SENT_TIMESTAMP) is None for b in canonical)
    assert "Messages" not in sqs.receive_message(QueueUrl=stack.dlq_url)


def test_a_second_redrive_keeps_the_first_send_time(
    session: aws_session.SessionLike, stack: StackOutputs, outputs_file: Path, endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    sqs = session.client("sqs")
    first_sent = {"DataType": "Number", "StringValue": "1767225600000"}
    sqs.send_message(
        QueueUrl=stack.dlq_url,
        MessageBody=LEGACY_BODY,
        MessageAttributes={queue_move.ORIGINAL_SENT_TIMESTAMP: first_sent},
    )
    assert redrive.main(["--outputs", str(outputs_file)]) == 0
    (moved,) = drain_queue(sqs, stack.queue_url)
    assert attribute(moved, queue_move.ORIGINAL_SENT_TIMESTAMP) == "1767225600000"


@pytest.mark.parametrize(
    ("body", "legacy"),
    [(LEGACY_BODY, True), ('{"CustID": "7002"}', True), ('{"user_id": "CustID"}', False),
     ("not json", False), ('["CustID"]', False),
     ("[" * 3000 + '"CustID"' + "]" * 3000, False)],
)  # fmt: skip
def test_only_bodies_ordered_by_send_time_take_the_copy_loop(body: str, legacy: bool) -> None:
    assert queue_move.order_depends_on_send_time(body) is legacy


def test_redrive_moves_every_dlq_message_back_with_its_attributes(
    *,
    session: aws_session.SessionLike,
    stack: StackOutputs,
    outputs_file: Path,
    endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    sqs = session.client("sqs")
    for index in range(15):
        sqs.send_message(
            QueueUrl=stack.dlq_url,
            MessageBody=f"m{index}",
            MessageAttributes={"failure_reason": {"DataType": "String", "StringValue": "x"}},
        )
    assert redrive.main(["--outputs", str(outputs_file)]) == 0
    out = capsys.readouterr().out
    assert "has no StartMessageMoveTask; copying instead" in out
    assert "moved 15 message(s)" in out
    moved = []
    while batch := sqs.receive_message(
        QueueUrl=stack.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages"):
        moved += batch
    assert sorted(m["Body"] for m in moved) == sorted(f"m{i}" for i in range(15))
    assert all(m["MessageAttributes"]["failure_reason"]["StringValue"] == "x" for m in moved)
    assert "Messages" not in sqs.receive_message(QueueUrl=stack.dlq_url)


def test_redrive_max_moves_only_that_many(
    session: aws_session.SessionLike,
    stack: StackOutputs,
    outputs_file: Path,
    endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    sqs = session.client("sqs")
    for index in range(5):
        sqs.send_message(QueueUrl=stack.dlq_url, MessageBody=f"m{index}")
    assert redrive.main(["--outputs", str(outputs_file), "--max", "3"]) == 0
    counts = sqs.get_queue_attributes(
        QueueUrl=stack.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == "3"


def test_logs_prints_the_function_log_group(
    *,
    session: aws_session.SessionLike,
    stack: StackOutputs,
    outputs_file: Path,
    endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    client = session.client("logs")
    client.create_log_stream(
        logGroupName=stack.log_group_name, logStreamName="2026/01/01/[$LATEST]ab"
    )
    now = int(time.time() * 1000)
    client.put_log_events(
        logGroupName=stack.log_group_name,
        logStreamName="2026/01/01/[$LATEST]ab",
        logEvents=[
            {"timestamp": now, "message": "START RequestId: r1 Version: $LATEST"},
            {"timestamp": now + 1, "message": "REPORT RequestId: r1\tDuration: 1.00 ms\t"},
        ],
    )
    assert logs.main(["--outputs", str(outputs_file), "--since", "5m"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "START RequestId: r1 Version: $LATEST",
        "REPORT RequestId: r1\tDuration: 1.00 ms",
    ]


def test_follow_prints_each_event_once() -> None:
    class FakeLogs:
        def __init__(self) -> None:
            self.polls = 0

        def filter_log_events(self, **request: object) -> dict:
            self.polls += 1
            events = [{"eventId": "1", "timestamp": 10, "message": "a", "logStreamName": "s"}]
            if self.polls > 1:
                events.append({"eventId": "2", "timestamp": 10, "message": "b"})
            if self.polls > 2:
                raise KeyboardInterrupt
            return {"events": events}

    printed: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        logs.tail(FakeLogs(), "g", 0, None, follow=True, emit=printed.append, sleep=lambda _: None)
    assert [line.rsplit(" ", 1)[1] for line in printed] == ["a", "b"]


@pytest.mark.parametrize("since", ["10", "5 minutes", "-1m"])
def test_bad_since_is_one_line(since: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        logs.run(["--since", since])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("logs: argument --since: ")
    assert "\n" not in err


def test_messages_that_return_during_the_move_are_left_for_the_next_redrive(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    """With the function running, a moved message that fails again is back in the DLQ at once;
    it must not use up the move's limit while older messages wait (they would stay behind)."""
    sqs = session.client("sqs")
    for body in ("old-1", "old-2"):
        sqs.send_message(QueueUrl=stack.dlq_url, MessageBody=body)
    time.sleep(0.005)
    started = queue_move.now_ms()
    time.sleep(0.005)
    sqs.send_message(QueueUrl=stack.dlq_url, MessageBody="failed again")
    result = queue_move.copy_loop(
        sqs, stack.dlq_url, stack.queue_url, limit=3, sent_before_ms=started
    )
    assert result.moved == 2
    assert sorted(m["Body"] for m in drain_queue(sqs, stack.queue_url)) == ["old-1", "old-2"]
    assert [m["Body"] for m in drain_queue(sqs, stack.dlq_url)] == ["failed again"]
