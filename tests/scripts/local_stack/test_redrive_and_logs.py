"""`make redrive` and `make logs` against moto."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scripts import logs, redrive
from scripts.harness.stack import aws_session
from scripts.harness.stack.outputs import StackOutputs


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
