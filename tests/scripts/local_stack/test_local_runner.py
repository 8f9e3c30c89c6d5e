"""The local event-source runner against moto: what it discovers, refuses, receives, filters,
invokes, routes, deletes, logs and measures.

The function is replaced by scripted execution environments here (the end-to-end test runs the
real zip), so each rule of Lambda's SQS poller is checked in isolation.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import math
import random
import re
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from scripts import local_runner
from scripts.harness.lambda_local import aliases, event_source, mappings, sqs_poller
from scripts.harness.lambda_local.config import FunctionConfig
from scripts.harness.lambda_local.emf import EmfMetrics
from scripts.harness.lambda_local.metrics import LambdaMetrics
from scripts.harness.lambda_local.scaling import Scaler
from scripts.harness.stack import aws_session
from scripts.harness.stack.outputs import StackOutputs
from tests.scripts.local_stack.conftest import StackSpec, placeholder_zip

STREAM_NAME = re.compile(r"^\d{4}/\d{2}/\d{2}/\[(?P<version>[^\]]+)\][0-9a-f]{32}$")
Responder = Callable[[Mapping[str, Any]], Any]


class ScriptedEnvironment:
    """An execution environment whose response is computed from the event by `respond`."""

    def __init__(
        self, respond: Responder, error: str | None = None, extra_lines: Sequence[str] = ()
    ) -> None:
        self.respond = respond
        self.error = error
        self.extra_lines = list(extra_lines)  # printed after the "handled" line
        self.events: list[Mapping[str, Any]] = []
        self.closed = False

    def invoke(self, event: Mapping[str, Any], request_id: str) -> event_source.Invocation:
        self.events.append(event)
        return event_source.Invocation(
            response=self.respond(event),
            error=self.error,
            log_lines=[
                json.dumps({"level": "INFO", "message": "handled", "request": request_id}),
                *self.extra_lines,
            ],
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


@dataclasses.dataclass
class Harness:
    """One discovered mapping's source and a poller driven by hand."""

    source: sqs_poller.SqsEventSource
    poller: sqs_poller.SqsPoller
    context: event_source.PollerContext
    environments: dict[str, ScriptedEnvironment]

    @property
    def queue(self) -> sqs_poller.QueueSettings:
        return self.source.queue

    def gather(self, wait_s: int = 1) -> list[dict[str, Any]]:
        sqs = self.context.session.client("sqs")
        return sqs_poller.gather(sqs, self.queue, self.context.mapping, threading.Event(), wait_s)


def harness(
    session: aws_session.SessionLike,
    respond: Responder = lambda _: None,
    *,
    error: str | None = None,
    plan: mappings.Plan | None = None,
    rng: random.Random | None = None,
    extra_lines: Sequence[str] = (),
) -> Harness:
    """The stack's one mapping as discovered (or `plan`), with scripted environments per
    version."""
    if plan is None:
        (plan,) = mappings.discover(session.client("lambda"))
    environments: dict[str, ScriptedEnvironment] = {}

    def new_environment(function: FunctionConfig) -> ScriptedEnvironment:
        environments[function.version] = ScriptedEnvironment(respond, error, extra_lines)
        return environments[function.version]

    context = event_source.PollerContext(
        mapping=plan.mapping,
        target=plan.target,
        session=session,
        new_environment=new_environment,
        stats=event_source.Stats(),
        stop=threading.Event(),
        wait_s=1,
        metrics=LambdaMetrics(),
        emf=EmfMetrics(),
        rng=rng or random.Random(),
    )
    source = sqs_poller.SqsEventSource(context)
    return Harness(source, sqs_poller.SqsPoller(context, source.queue, source.scaler), context,
                   environments)  # fmt: skip


def send(session: aws_session.SessionLike, queue_url: str, *bodies: str) -> None:
    sqs = session.client("sqs")
    for start in range(0, len(bodies), 10):
        sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {
                    "Id": str(index),
                    "MessageBody": body,
                    "MessageAttributes": {"origin": {"DataType": "String", "StringValue": "test"}},
                }
                for index, body in enumerate(bodies[start : start + 10])
            ],
        )


def code(marker: str) -> bytes:
    """A small package; the same marker always gives the same bytes (fixed timestamp)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        entry = zipfile.ZipInfo("registration/app.py", date_time=(2026, 1, 1, 0, 0, 0))
        archive.writestr(entry, f"# {marker}\ndef lambda_handler(e, c): pass\n")
    return buffer.getvalue()


def keep_built_zip(dist: Path, data: bytes) -> Path:
    """What `make package` leaves: dist/code/<sha256-hex>.zip."""
    path = dist / "code" / f"{hashlib.sha256(data).hexdigest()}.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert local_runner.run(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


# --- discovery -------------------------------------------------------------------------------


def test_discovers_every_mapping_and_its_settings_from_the_endpoint(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    (plan,) = mappings.discover(session.client("lambda"))
    mapping, function = plan.mapping, plan.target.function
    assert mapping.uuid == stack.event_source_mapping_uuid
    assert mapping.event_source_arn == stack.queue_arn
    assert mapping.source_type == "sqs"
    assert (mapping.batch_size, mapping.batching_window_s) == (10, 0)
    assert mapping.response_types == ("ReportBatchItemFailures",)
    assert mapping.maximum_concurrency == 2
    assert mapping.state == "Disabled"
    assert function.handler == "registration.app.lambda_handler"
    assert (function.timeout_s, function.memory_mb, function.version) == (5, 256, "$LATEST")
    assert function.environment["TABLE_NAME"] == "registrations-users"
    assert function.log_group_name == stack.log_group_name
    assert sqs_poller.maximum_concurrency(mapping, function, local_cap=8) == 2
    assert sqs_poller.maximum_concurrency(mapping, function, local_cap=1) == 1


def test_reads_the_functions_logging_config(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    """moto_main keeps LoggingConfig (moto drops it), so the runner reads it as on AWS."""
    lambda_client = session.client("lambda")
    (plan,) = mappings.discover(lambda_client)
    assert (plan.target.function.log_format, plan.target.function.log_group_name) == (
        "Text",
        stack.log_group_name,
    )
    lambda_client.update_function_configuration(
        FunctionName=stack.function_name,
        LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "LogGroup": "/x/y"},
    )
    (plan,) = mappings.discover(lambda_client)
    function = plan.target.function
    assert (function.log_format, function.application_log_level) == ("JSON", "DEBUG")
    assert function.log_group_name == "/x/y"


@pytest.mark.parametrize("stack_spec", [StackSpec(maximum_concurrency=None)])
def test_a_second_queue_is_discovered_without_being_named(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    sqs = session.client("sqs")
    other_url = sqs.create_queue(QueueName="imports")["QueueUrl"]
    other_arn = sqs.get_queue_attributes(QueueUrl=other_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    session.client("lambda").create_event_source_mapping(
        EventSourceArn=other_arn, FunctionName=stack.function_name, BatchSize=5, Enabled=False
    )
    plans = mappings.discover(session.client("lambda"))
    assert {p.mapping.event_source_arn: p.mapping.batch_size for p in plans} == {
        stack.queue_arn: 10,
        other_arn: 5,
    }
    unbounded = next(p for p in plans if p.mapping.event_source_arn == stack.queue_arn)
    assert unbounded.mapping.maximum_concurrency is None
    assert sqs_poller.maximum_concurrency(unbounded.mapping, unbounded.target.function, 3) == 3


# --- refusals, one line each -----------------------------------------------------------------


def test_refuses_an_enabled_mapping(
    endpoint: str,
    session: aws_session.SessionLike,
    stack: StackOutputs,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """moto would consume the queue itself: the runner must be the only consumer."""
    session.client("lambda").update_event_source_mapping(
        UUID=stack.event_source_mapping_uuid, Enabled=True
    )
    err = one_line_error(capsys, ["--endpoint-url", endpoint])
    assert "is Enabled: moto would consume the source itself" in err


def test_refuses_reserved_concurrency_zero(
    endpoint: str,
    session: aws_session.SessionLike,
    stack: StackOutputs,
    capsys: pytest.CaptureFixture[str],
) -> None:
    session.client("lambda").put_function_concurrency(
        FunctionName=stack.function_name, ReservedConcurrentExecutions=0
    )
    err = one_line_error(capsys, ["--endpoint-url", endpoint])
    assert "reserved concurrency 0" in err


def test_refuses_a_fifo_queue(
    endpoint: str,
    session: aws_session.SessionLike,
    stack: StackOutputs,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    session.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName=stack.function_name, Enabled=False
    )
    dist = tmp_path / "dist"
    keep_built_zip(dist, placeholder_zip())
    argv = ["--endpoint-url", endpoint, "--dist", str(dist)]
    assert "per-message-group ordering" in one_line_error(capsys, argv)


@pytest.mark.parametrize(
    "argv", [["--max-concurrency", "0"], ["--wait-seconds", "21"], ["--bogus"]]
)
def test_bad_arguments_are_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        local_runner.run(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("local_runner: ")
    assert err.count("\n") == 1


def test_refuses_an_event_source_type_it_has_no_poller_for() -> None:
    mapping = dataclasses.replace(
        _mapping("arn:aws:kafka:us-east-1:123456789012:cluster/c/1"), state="Disabled"
    )
    problem = mappings.refusal(mapping)
    assert problem is not None
    assert "no local poller for kafka event sources (the runner knows dynamodb, sqs)" in problem


def test_refuses_code_that_no_built_zip_has(
    endpoint: str,
    session: aws_session.SessionLike,
    stack: StackOutputs,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dist = tmp_path / "dist"
    (dist / "code").mkdir(parents=True)
    (dist / "registration.zip").write_bytes(code("something else"))
    argv = ["--endpoint-url", endpoint, "--dist", str(dist)]
    err = one_line_error(capsys, argv)
    assert "version $LATEST runs code" in err
    assert "no built zip has it" in err


def test_finds_a_versions_code_by_its_sha256(tmp_path: Path) -> None:
    data = code("v7")
    built = keep_built_zip(tmp_path, data)
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    function = FunctionConfig("f", "arn", "h", "python3.12", 3, 128, {}, sha, "7")
    assert aliases.code_zip(function, tmp_path) == built
    built.unlink()
    (tmp_path / "registration.zip").write_bytes(data)  # before the packager kept dist/code/
    assert aliases.code_zip(function, tmp_path) == tmp_path / "registration.zip"


def _mapping(source_arn: str) -> Any:
    from scripts.harness.lambda_local.config import MappingConfig  # noqa: PLC0415

    return MappingConfig("u", source_arn, 10, 0, (), None, "Disabled")


# --- Lambda's SQS batch semantics ------------------------------------------------------------


def test_event_records_have_lambdas_shape(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    h = harness(session)
    send(session, stack.queue_url, '{"user_id": "u1"}')
    h.poller.process(h.gather())
    (record,) = h.environments["$LATEST"].events[0]["Records"]
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
    h = harness(session, fail_bodies("b"))
    send(session, stack.queue_url, "a", "b", "c")
    messages = h.gather()
    assert len(messages) == 3
    settlement = h.poller.process(messages)
    assert len(settlement.delete) == 2
    assert queue_counts(sqs, stack.queue_url) == (0, 1)  # only "b" is left, in flight
    assert h.context.stats.snapshot()["deleted"] == 2
    assert h.context.stats.snapshot()["retried"] == 1


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
    h = harness(session, respond, error=error)
    send(session, stack.queue_url, "a", "b")
    settlement = h.poller.process(h.gather())
    assert settlement.delete == ()
    assert queue_counts(sqs, stack.queue_url) == (0, 2)
    if error:
        assert h.environments["$LATEST"].closed  # a timed-out environment is discarded


@pytest.mark.parametrize("stack_spec", [StackSpec(visibility_timeout_s=1, max_receive_count=2)])
def test_failed_messages_come_back_and_are_redriven_to_the_dlq(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    """moto applies the redrive policy on receive, so the runner's retries end in the DLQ."""
    sqs = session.client("sqs")
    h = harness(session, lambda event: "malformed")
    send(session, stack.queue_url, "poison")
    for receive_count in (1, 2):
        messages = h.gather(wait_s=2)
        assert [m["Attributes"]["ApproximateReceiveCount"] for m in messages] == [
            str(receive_count)
        ]
        h.poller.process(messages)
    assert h.gather(wait_s=2) == []  # moved on this receive
    dead = sqs.receive_message(QueueUrl=stack.dlq_url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in dead] == ["poison"]


@pytest.mark.parametrize("stack_spec", [StackSpec(batch_size=25, batching_window_s=1)])
def test_gathers_up_to_the_batch_size_then_stops_receiving(
    session: aws_session.SessionLike, stack: StackOutputs, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness(session)
    sqs = session.client("sqs")
    send(session, stack.queue_url, *[f"m{i}" for i in range(30)])
    asked: list[int] = []
    receive = sqs.receive_message

    def counting_receive(**arguments: Any) -> Any:
        asked.append(arguments["MaxNumberOfMessages"])
        return receive(**arguments)

    monkeypatch.setattr(sqs, "receive_message", counting_receive)
    batch = sqs_poller.gather(sqs, h.queue, h.context.mapping, threading.Event(), 1)
    assert len(batch) == 25
    assert asked == [10, 10, 5]  # never more than 10 per call, never past the batch size
    rest = sqs_poller.gather(sqs, h.queue, h.context.mapping, threading.Event(), 1)
    assert len(rest) == 5  # the window closes with fewer than the batch size


def test_a_batch_never_exceeds_the_6_mb_payload_limit(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    """Ten 1 MiB messages cannot share one 6 MB event: the overflow goes back at once."""
    sqs = session.client("sqs")
    h = harness(session)
    for i in range(8):
        sqs.send_message(QueueUrl=stack.queue_url, MessageBody=str(i) * (1024 * 1024 - 4))
    batch = h.gather()
    event_bytes = len(json.dumps({"Records": [sqs_poller.sqs_event.record(m, stack.queue_arn)
                                              for m in batch]}))  # fmt: skip
    assert 0 < len(batch) < 8
    assert event_bytes <= sqs_poller.MAX_EVENT_BYTES
    assert queue_counts(sqs, stack.queue_url) == (8 - len(batch), len(batch))


@pytest.mark.parametrize(
    "stack_spec",
    [
        StackSpec(
            filter_patterns=(
                {"body": {"kind": ["signup"]}},
                {"body": {"age": [{"numeric": [">", 64]}]}},
            )
        )
    ],
)
def test_a_filter_drops_non_matching_messages_without_an_invoke(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    sqs = session.client("sqs")
    h = harness(session)
    bodies = {
        "signup": json.dumps({"kind": "signup", "age": 30}),
        "senior": json.dumps({"kind": "update", "age": 70}),
        "update": json.dumps({"kind": "update", "age": 30}),
        "plain": "not json at all",
    }
    send(session, stack.queue_url, *bodies.values())
    h.poller.process(h.gather())
    (event,) = h.environments["$LATEST"].events
    assert sorted(r["body"] for r in event["Records"]) == sorted(
        [bodies["signup"], bodies["senior"]]
    )
    assert queue_counts(sqs, stack.queue_url) == (0, 0)  # the two dropped ones are deleted
    assert h.context.stats.snapshot()["filtered"] == 2

    send(session, stack.queue_url, bodies["update"])
    settlement = h.poller.process(h.gather())
    assert settlement.reason == "filtered"
    assert len(h.environments["$LATEST"].events) == 1  # no invoke for a batch filtered away
    assert queue_counts(sqs, stack.queue_url) == (0, 0)


def test_a_hostile_body_reaches_the_function_without_breaking_the_batch(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    """A body nested deeper than Python's JSON parser goes is the handler's to reject."""
    h = harness(session)
    hostile = "[" * 50_000 + "]" * 50_000
    send(session, stack.queue_url, hostile, "ok")
    settlement = h.poller.process(h.gather())
    (event,) = h.environments["$LATEST"].events
    assert sorted(r["body"] for r in event["Records"]) == sorted([hostile, "ok"])
    assert len(settlement.delete) == 2


def test_writes_lambda_style_logs_to_the_environments_stream(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    h = harness(session)
    send(session, stack.queue_url, "a")
    h.poller.process(h.gather())
    logs = session.client("logs")
    (stream,) = logs.describe_log_streams(logGroupName=stack.log_group_name)["logStreams"]
    assert STREAM_NAME.match(stream["logStreamName"])
    events = logs.get_log_events(
        logGroupName=stack.log_group_name, logStreamName=stream["logStreamName"]
    )["events"]
    init, *lines = [e["message"] for e in events]
    assert init == "INIT_START Runtime Version: python:3.12\tRuntime Version ARN: local"
    request_id = lines[0].removeprefix("START RequestId: ").split()[0]
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert json.loads(lines[1])["message"] == "handled"
    assert lines[2] == f"END RequestId: {request_id}"
    assert lines[3] == (
        f"REPORT RequestId: {request_id}\tDuration: 12.35 ms\tBilled Duration: 114 ms\t"
        "Memory Size: 256 MB\tMax Memory Used: 42 MB\tInit Duration: 101.50 ms\t"
    )


def test_metrics_the_function_prints_as_emf_reach_cloudwatch(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    """What CloudWatch Logs does on AWS: the handler's EMF line (Powertools' own serializer)
    stays in the log stream and becomes metrics on the runner's next flush."""
    metrics = Metrics(namespace="Registrations", service="registration")
    metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=2)
    emf_line = json.dumps(metrics.serialize_metric_set(), separators=(",", ":"))
    metrics.clear_metrics()
    h = harness(session, extra_lines=[emf_line, "not json", '{"_aws": "broken"}'])
    send(session, stack.queue_url, "a")
    h.poller.process(h.gather())
    send(session, stack.queue_url, "b")
    h.poller.process(h.gather())
    assert h.context.emf is not None
    cloudwatch = session.client("cloudwatch")
    assert h.context.emf.flush(cloudwatch) == 1  # two lines, one aggregated datum
    (datapoint,) = cloudwatch.get_metric_statistics(
        Namespace="Registrations",
        MetricName="RecordsFailed",
        Dimensions=[{"Name": "service", "Value": "registration"}],
        StartTime=time.time() - 3600,
        EndTime=time.time() + 60,
        Period=3600,
        Statistics=["Sum", "SampleCount"],
    )["Datapoints"]
    assert (datapoint["Sum"], datapoint["SampleCount"]) == (4.0, 2.0)
    logs = session.client("logs")
    (stream,) = logs.describe_log_streams(logGroupName=stack.log_group_name)["logStreams"]
    messages = [
        e["message"]
        for e in logs.get_log_events(
            logGroupName=stack.log_group_name, logStreamName=stream["logStreamName"]
        )["events"]
    ]
    assert messages.count(emf_line) == 2  # the line itself is a log line too


def test_logs_go_to_the_stream_the_environment_names(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    """The context's log_stream_name and the stream the runner writes are one and the same."""
    h = harness(session)
    named = "2026/11/30/[$LATEST]0123456789abcdef0123456789abcdef"
    original = h.context.new_environment

    def with_stream_name(function: FunctionConfig) -> Any:
        environment = original(function)
        environment.log_stream_name = named  # type: ignore[attr-defined]
        return environment

    h.context.new_environment = with_stream_name
    send(session, stack.queue_url, "a")
    h.poller.process(h.gather())
    streams = session.client("logs").describe_log_streams(logGroupName=stack.log_group_name)
    assert [s["logStreamName"] for s in streams["logStreams"]] == [named]


def test_the_event_source_drains_the_queue_and_stops(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    sqs = session.client("sqs")
    h = harness(session)
    send(session, stack.queue_url, *[f"m{i}" for i in range(23)])
    run_until_deleted(h, 23)
    assert h.source.scaler.peak == 2  # the mapping's MaximumConcurrency, below Lambda's 5
    assert queue_counts(sqs, stack.queue_url) == (0, 0)
    assert all(environment.closed for environment in h.environments.values())


@pytest.mark.parametrize("stack_spec", [StackSpec(maximum_concurrency=7)])
def test_pollers_scale_from_five_towards_the_maximum_while_batches_come_back_full(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    h = harness(session)
    # Lambda's rate (300 a minute) sped up 100x, so that scripted invokes cannot drain the
    # queue before the first increase is due.
    h.source.scaler = Scaler(7, per_minute=30_000)
    send(session, stack.queue_url, *[f"m{i}" for i in range(200)])
    run_until_deleted(h, 200)
    assert h.source.scaler.peak == 7  # grew from 5 to the mapping's MaximumConcurrency
    assert h.source.status()["peak_pollers"] == 7


@pytest.mark.parametrize("stack_spec", [StackSpec(maximum_concurrency=7)])
def test_failing_invocations_do_not_scale_the_pollers_up(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    h = harness(session, error="RuntimeError: database down")
    h.source.scaler = Scaler(7, per_minute=30_000)
    send(session, stack.queue_url, *[f"m{i}" for i in range(200)])
    h.source.start()
    deadline = time.monotonic() + 60
    try:
        while h.context.stats.snapshot().get("received", 0) < 200 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        h.context.stop.set()
        while h.source.busy():
            time.sleep(0.05)
        h.source.close()
    stats = h.context.stats.snapshot()
    assert stats["received"] == 200
    assert stats["function_errors"] == stats["invocations"]  # every batch failed
    assert h.source.scaler.peak == 5


def run_until_deleted(h: Harness, count: int) -> None:
    """Run the event source until `count` messages are deleted, then stop it cleanly."""
    h.source.start()
    deadline = time.monotonic() + 60  # a stuck runner fails the test instead of hanging it
    try:
        while h.context.stats.snapshot().get("deleted", 0) < count and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        h.context.stop.set()
        while h.source.busy():
            time.sleep(0.05)
        h.source.close()
    assert h.context.stats.snapshot()["deleted"] == count


# --- aliases, versions, weights, metrics ------------------------------------------------------


def publish_weighted_alias(
    session: aws_session.SessionLike, stack: StackOutputs, dist: Path
) -> str:
    """Versions 1 and 2 with different code (both built), alias `live`: 90 % 1, 10 % 2."""
    lambda_client = session.client("lambda")
    for marker in ("one", "two"):
        data = code(marker)
        keep_built_zip(dist, data)
        lambda_client.update_function_code(FunctionName=stack.function_name, ZipFile=data)
        lambda_client.publish_version(FunctionName=stack.function_name)
    return lambda_client.create_alias(
        FunctionName=stack.function_name,
        Name="live",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}},
    )["AliasArn"]


def test_alias_weights_are_honoured_per_batch(
    session: aws_session.SessionLike, stack: StackOutputs, tmp_path: Path
) -> None:
    """90/10 over 200 batches: version 2 gets a binomial(200, 0.1) share of the batches."""
    alias_arn = publish_weighted_alias(session, stack, tmp_path)
    lambda_client = session.client("lambda")
    lambda_client.update_event_source_mapping(
        UUID=stack.event_source_mapping_uuid, FunctionName=alias_arn
    )
    (plan,) = mappings.discover(lambda_client)  # moto_main keeps the alias ARN, as AWS does
    assert plan.mapping.function_arn == alias_arn
    assert plan.target.routing() == pytest.approx({"1": 0.9, "2": 0.1})
    assert [aliases.code_zip(f, tmp_path).parent.name for f in plan.target.versions] == [
        "code",
        "code",
    ]
    h = harness(session, plan=plan, rng=random.Random(16))
    batches = 200
    send(session, stack.queue_url, *[f"m{i}" for i in range(batches)])
    for _ in range(batches // 10):
        for message in h.gather():
            h.poller.process([message])  # one batch per message
    per_version = Counter({version: len(env.events) for version, env in h.environments.items()})
    assert sum(per_version.values()) == batches
    # Within 4.5 standard deviations of n·p: a fair draw fails this once in ~300,000 runs.
    mean, sd = batches * 0.1, math.sqrt(batches * 0.1 * 0.9)
    assert abs(per_version["2"] - mean) <= 4.5 * sd, per_version
    assert per_version["2"] > 0

    # Context ARN and version carry the qualifier; each version logs to its own stream.
    assert {f.arn for f in plan.target.versions} == {alias_arn}
    streams = session.client("logs").describe_log_streams(logGroupName=stack.log_group_name)
    versions = {STREAM_NAME.match(s["logStreamName"])["version"] for s in streams["logStreams"]}  # type: ignore[index]
    assert versions == {"1", "2"}

    # Per-version Lambda metrics, as a release command reads them.
    assert h.context.metrics is not None
    h.context.metrics.flush(session.client("cloudwatch"))
    invocations = executed_version_invocations(session, stack.function_name)
    assert invocations == {"1": per_version["1"], "2": per_version["2"]}


def executed_version_invocations(session: aws_session.SessionLike, function: str) -> dict[str, int]:
    cloudwatch = session.client("cloudwatch")
    found = {}
    for version in ("1", "2"):
        datapoints = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName="Invocations",
            Dimensions=[
                {"Name": "FunctionName", "Value": function},
                {"Name": "Resource", "Value": f"{function}:live"},
                {"Name": "ExecutedVersion", "Value": version},
            ],
            StartTime=time.time() - 3600,
            EndTime=time.time() + 60,
            Period=3600,
            Statistics=["Sum"],
        )["Datapoints"]
        found[version] = int(sum(d["Sum"] for d in datapoints))
    return found


def test_a_mapping_on_a_version_runs_that_versions_code(
    session: aws_session.SessionLike, stack: StackOutputs, tmp_path: Path
) -> None:
    publish_weighted_alias(session, stack, tmp_path)
    lambda_client = session.client("lambda")
    unqualified = lambda_client.get_function(FunctionName=stack.function_name)
    target = aliases.resolve(lambda_client, f"{unqualified['Configuration']['FunctionArn']}:2")
    (function,) = target.versions
    assert (function.version, target.resource) == ("2", f"{stack.function_name}:2")
    assert function.arn.endswith(":2")
    data = code("two")
    assert aliases.code_zip(function, tmp_path).read_bytes() == data


def test_the_runner_runs_each_versions_own_code_from_the_built_zips(
    session: aws_session.SessionLike, stack: StackOutputs, tmp_path: Path
) -> None:
    """The whole runner, real worker processes: an alias split 50/50 runs both versions' zips
    (found by CodeSha256 under dist/code/), each version logging to its own streams."""
    lambda_client = session.client("lambda")
    alias_arn = publish_weighted_alias(session, stack, tmp_path)
    lambda_client.update_alias(
        FunctionName=stack.function_name,
        Name="live",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
    )
    lambda_client.update_event_source_mapping(
        UUID=stack.event_source_mapping_uuid, FunctionName=alias_arn, BatchSize=1
    )
    runner = local_runner.Runner(
        session, local_runner.discover(session), tmp_path, local_cap=2, wait_s=1,
        rng=random.Random(7),
    )  # fmt: skip
    send(session, stack.queue_url, *[f"m{i}" for i in range(12)])
    runner.start()
    deadline = time.monotonic() + 120  # a stuck runner fails the test instead of hanging it
    try:
        while runner.stats.snapshot().get("deleted", 0) < 12 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        runner.shutdown()
    stats = runner.stats.snapshot()
    assert stats["deleted"] == 12
    assert stats["invocations_version_1"] > 0
    assert stats["invocations_version_2"] > 0
    streams = session.client("logs").describe_log_streams(logGroupName=stack.log_group_name)
    versions = {STREAM_NAME.match(s["logStreamName"])["version"] for s in streams["logStreams"]}  # type: ignore[index]
    assert versions == {"1", "2"}
