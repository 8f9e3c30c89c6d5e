"""The local event-source runner against moto: what it reads, receives, invokes, deletes, logs.

The function is replaced by scripted execution environments here (the end-to-end test runs the
real zip), so each rule of Lambda's SQS poller is checked in isolation.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scripts.harness.cli import UserError
from scripts.harness.lambda_local import config, event_source
from scripts.harness.lambda_local import logs as lambda_logs
from scripts.harness.stack import aws_session
from scripts.harness.stack.outputs import StackOutputs
from tests.scripts.local_stack.conftest import StackSpec

STREAM_NAME = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")
Responder = Callable[[Mapping[str, Any]], Any]


class ScriptedEnvironment:
    """An execution environment whose response is computed from the event by `respond`."""

    def __init__(self, respond: Responder, error: str | None = None) -> None:
        self.respond = respond
        self.error = error
        self.events: list[Mapping[str, Any]] = []
        self.closed = False

    def invoke(self, event: Mapping[str, Any], request_id: str) -> event_source.Invocation:
        self.events.append(event)
        return event_source.Invocation(
            response=self.respond(event),
            error=self.error,
            log_lines=[json.dumps({"level": "INFO", "message": "handled", "request": request_id})],
            duration_ms=12.3456,
            max_memory_used_mb=42,
            init_duration_ms=101.5 if len(self.events) == 1 else None,
            timed_out=self.error is not None and "timed out" in self.error,
        )

    def close(self) -> None:
        self.closed = True


def fail_bodies(*bodies: str) -> Responder:
    """Report the records with these bodies as batch item failures."""

    def respond(event: Mapping[str, Any]) -> Any:
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] in bodies
            ]
        }

    return respond


def queue_counts(sqs: Any, queue_url: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def make_poller(
    session: aws_session.SessionLike,
    stack: StackOutputs,
    environment: ScriptedEnvironment,
    stats: event_source.Stats | None = None,
    wait_s: int = 1,
) -> tuple[event_source.Poller, event_source.QueueSettings, config.MappingConfig]:
    lambda_client = session.client("lambda")
    function = config.read_function(lambda_client, stack.function_name)
    mapping = config.read_mapping(
        lambda_client, stack.function_name, stack.queue_arn, stack.event_source_mapping_uuid
    )
    sqs = session.client("sqs")
    queue = event_source.read_queue(sqs, stack.queue_url)
    logs = session.client("logs")
    poller = event_source.Poller(
        sqs=sqs,
        queue=queue,
        mapping=mapping,
        function=function,
        new_environment=lambda: environment,
        new_log_stream=lambda: lambda_logs.LogStream(
            logs, stack.log_group_name, lambda_logs.stream_name(datetime.now(UTC))
        ),
        stats=stats or event_source.Stats(),
        stop=threading.Event(),
        wait_s=wait_s,
    )
    return poller, queue, mapping


def send(session: aws_session.SessionLike, queue_url: str, *bodies: str) -> None:
    sqs = session.client("sqs")
    for body in bodies:
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=body,
            MessageAttributes={"origin": {"DataType": "String", "StringValue": "test"}},
        )


def test_reads_the_deployed_function_and_mapping(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    lambda_client = session.client("lambda")
    function = config.read_function(lambda_client, stack.function_name)
    mapping = config.read_mapping(
        lambda_client, stack.function_name, stack.queue_arn, stack.event_source_mapping_uuid
    )
    assert function.handler == "registration.app.lambda_handler"
    assert (function.timeout_s, function.memory_mb) == (5, 256)
    assert function.environment["TABLE_NAME"] == "registrations-users"
    assert mapping.batch_size == 10
    assert mapping.batching_window_s == 0
    assert mapping.response_types == ("ReportBatchItemFailures",)
    assert mapping.maximum_concurrency == 2
    assert mapping.state == "Disabled"
    assert event_source.concurrency(mapping, function, local_cap=8) == 2
    assert event_source.concurrency(mapping, function, local_cap=1) == 1


def test_refuses_a_zip_that_is_not_the_deployed_code(
    session: aws_session.SessionLike, stack: StackOutputs, tmp_path: Path
) -> None:
    function = config.read_function(session.client("lambda"), stack.function_name)
    other = tmp_path / "other.zip"
    other.write_bytes(b"PK not the deployed code")
    with pytest.raises(UserError, match=r"runs code .* but .*other\.zip is"):
        config.check_code(function, other)
    with pytest.raises(UserError, match="make package"):
        config.check_code(function, tmp_path / "missing.zip")


def test_event_records_have_lambdas_shape(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    environment = ScriptedEnvironment(lambda _: None)
    poller, queue, mapping = make_poller(session, stack, environment)
    send(session, stack.queue_url, '{"user_id": "u1"}')
    messages = event_source.gather(session.client("sqs"), queue, mapping, threading.Event(), 1)
    poller.process(messages)
    (record,) = environment.events[0]["Records"]
    assert set(record) >= {
        "messageId", "receiptHandle", "body", "attributes", "messageAttributes",
        "md5OfBody", "eventSource", "eventSourceARN", "awsRegion",
    }  # fmt: skip
    assert record["body"] == '{"user_id": "u1"}'
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == stack.queue_arn
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["attributes"]["SentTimestamp"].isdigit()
    assert record["messageAttributes"]["origin"] == {
        "stringValue": "test",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }


def test_deletes_only_the_messages_that_succeeded(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    sqs = session.client("sqs")
    environment = ScriptedEnvironment(fail_bodies("b"))
    stats = event_source.Stats()
    poller, queue, mapping = make_poller(session, stack, environment, stats)
    send(session, stack.queue_url, "a", "b", "c")
    messages = event_source.gather(sqs, queue, mapping, threading.Event(), 1)
    assert len(messages) == 3
    settlement = poller.process(messages)
    assert len(settlement.delete) == 2
    assert queue_counts(sqs, stack.queue_url) == (0, 1)  # only "b" is left, in flight
    assert stats.snapshot()["deleted"] == 2
    assert stats.snapshot()["retried"] == 1


@pytest.mark.parametrize(
    ("respond", "error"),
    [
        (lambda event: "not an object", None),
        (lambda event: {"batchItemFailures": [{"itemIdentifier": "nope"}]}, None),
        (lambda event: None, "Task timed out after 5.00 seconds"),
    ],
    ids=["not-an-object", "unknown-identifier", "timeout"],
)
def test_malformed_response_or_error_deletes_nothing(
    session: aws_session.SessionLike,
    stack: StackOutputs,
    respond: Responder,
    error: str | None,
) -> None:
    sqs = session.client("sqs")
    environment = ScriptedEnvironment(respond, error)
    poller, queue, mapping = make_poller(session, stack, environment)
    send(session, stack.queue_url, "a", "b")
    settlement = poller.process(event_source.gather(sqs, queue, mapping, threading.Event(), 1))
    assert settlement.delete == ()
    assert queue_counts(sqs, stack.queue_url) == (0, 2)
    if error:
        assert environment.closed  # a timed-out environment is discarded like Lambda's


@pytest.mark.parametrize("stack_spec", [StackSpec(visibility_timeout_s=1, max_receive_count=2)])
def test_failed_messages_come_back_and_are_redriven_to_the_dlq(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    """moto applies the redrive policy on receive, so the runner's retries end in the DLQ."""
    sqs = session.client("sqs")
    environment = ScriptedEnvironment(lambda event: "malformed")
    poller, queue, mapping = make_poller(session, stack, environment)
    send(session, stack.queue_url, "poison")
    stop = threading.Event()
    for receive_count in (1, 2):
        messages = event_source.gather(sqs, queue, mapping, stop, 2)
        assert [m["Attributes"]["ApproximateReceiveCount"] for m in messages] == [
            str(receive_count)
        ]
        poller.process(messages)
    assert event_source.gather(sqs, queue, mapping, stop, 2) == []  # moved on this receive
    dead = sqs.receive_message(QueueUrl=stack.dlq_url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in dead] == ["poison"]


@pytest.mark.parametrize("stack_spec", [StackSpec(batch_size=25, batching_window_s=1)])
def test_gathers_up_to_the_batch_size_within_the_window(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    sqs = session.client("sqs")
    _, queue, mapping = make_poller(session, stack, ScriptedEnvironment(lambda _: None))
    send(session, stack.queue_url, *[f"m{i}" for i in range(30)])
    started = time.monotonic()
    batch = event_source.gather(sqs, queue, mapping, threading.Event(), 1)
    assert len(batch) == 25
    assert time.monotonic() - started < 5
    rest = event_source.gather(sqs, queue, mapping, threading.Event(), 1)
    assert len(rest) == 5  # the window closes with fewer than the batch size


def test_writes_lambda_style_logs_to_the_function_log_group(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    sqs = session.client("sqs")
    poller, queue, mapping = make_poller(session, stack, ScriptedEnvironment(lambda _: None))
    send(session, stack.queue_url, "a")
    poller.process(event_source.gather(sqs, queue, mapping, threading.Event(), 1))
    logs = session.client("logs")
    (stream,) = logs.describe_log_streams(logGroupName=stack.log_group_name)["logStreams"]
    assert STREAM_NAME.match(stream["logStreamName"])
    events = logs.get_log_events(
        logGroupName=stack.log_group_name, logStreamName=stream["logStreamName"]
    )["events"]
    lines = [e["message"] for e in events]
    request_id = lines[0].removeprefix("START RequestId: ").split()[0]
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert json.loads(lines[1])["message"] == "handled"
    assert lines[2] == f"END RequestId: {request_id}"
    assert lines[3] == (
        f"REPORT RequestId: {request_id}\tDuration: 12.35 ms\tBilled Duration: 114 ms\t"
        "Memory Size: 256 MB\tMax Memory Used: 42 MB\tInit Duration: 101.50 ms\t"
    )


def test_run_loop_drains_the_queue_and_stops(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    sqs = session.client("sqs")
    stats = event_source.Stats()
    poller, _, _ = make_poller(session, stack, ScriptedEnvironment(lambda _: None), stats)
    send(session, stack.queue_url, *[f"m{i}" for i in range(23)])
    thread = threading.Thread(target=poller.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while stats.snapshot().get("deleted", 0) < 23 and time.monotonic() < deadline:
        time.sleep(0.1)
    poller._stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert stats.snapshot()["deleted"] == 23
    assert queue_counts(sqs, stack.queue_url) == (0, 0)
