"""The DynamoDB Streams poller against a real stream on moto, with in-process functions.

The table's writes go through moto's DynamoDB and are read back through its Streams API, as
the runner reads them; the "function" is a Python callable behind the execution-environment
boundary, so each test states exactly what the function does with each batch.
"""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from scripts.harness.cli import UserError
from scripts.harness.lambda_local import mappings, stream_poller
from scripts.harness.lambda_local.aliases import Target
from scripts.harness.lambda_local.config import FunctionConfig, MappingConfig
from scripts.harness.lambda_local.event_source import Invocation, PollerContext, Stats
from scripts.harness.stack import aws_session
from scripts.harness.stack.moto_server import MotoServer

pytestmark = pytest.mark.integration

Handler = Callable[[dict[str, Any]], Any]


@dataclass
class FunctionUnderTest:
    """The function: `handler(event)` returns the response or raises (a function error)."""

    handler: Handler
    events: list[dict[str, Any]] = field(default_factory=list)

    def invoke(self, event: Mapping[str, Any], request_id: str) -> Invocation:
        copied = json.loads(json.dumps(event))
        self.events.append(copied)
        try:
            response = self.handler(copied)
        except Exception as err:  # the function's error, as Lambda reports it
            return Invocation(None, f"{type(err).__name__}: {err}", [], 1.0, 64)
        return Invocation(response, None, [], 1.0, 64)

    def close(self) -> None:
        pass

    def user_ids(self) -> list[str]:
        return [r["dynamodb"]["Keys"]["user_id"]["S"] for e in self.events for r in e["Records"]]


class Stream:
    """A users table with a NEW_AND_OLD_IMAGES stream and an on-failure queue."""

    def __init__(self, endpoint: str) -> None:
        self.session = aws_session.session(aws_session.local_target(endpoint))
        self.dynamodb = self.session.client("dynamodb")
        self.sqs = self.session.client("sqs")
        self.table = f"users-{secrets.token_hex(4)}"
        created = self.dynamodb.create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        self.arn = created["TableDescription"]["LatestStreamArn"]
        self.failure_url = self.sqs.create_queue(QueueName=f"{self.table}-failures")["QueueUrl"]
        self.failure_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.failure_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]

    def put(self, *user_ids: int) -> None:
        for n in user_ids:
            self.dynamodb.put_item(
                TableName=self.table, Item={"user_id": {"S": str(n)}, "name": {"S": f"User {n}"}}
            )

    def mapping(self, **settings: Any) -> MappingConfig:
        raw = {
            "UUID": "local-stream",
            "EventSourceArn": self.arn,
            "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:changes",
            "BatchSize": 10,
            "MaximumBatchingWindowInSeconds": 0,
            "StartingPosition": "TRIM_HORIZON",
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": 1,
            "MaximumRecordAgeInSeconds": -1,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {"OnFailure": {"Destination": self.failure_arn}},
            "State": "Disabled",
            **settings,
        }
        return MappingConfig.from_api(raw)

    def failures(self) -> list[dict[str, Any]]:
        found = self.sqs.receive_message(
            QueueUrl=self.failure_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        return [json.loads(m["Body"]) for m in found.get("Messages", [])]


FUNCTION = FunctionConfig(
    name="changes",
    arn="arn:aws:lambda:us-east-1:123456789012:function:changes",
    handler="changes.app.lambda_handler",
    runtime="python3.12",
    timeout_s=30,
    memory_mb=256,
    environment={},
    code_sha256="x",
)


@pytest.fixture
def stream(moto_server: MotoServer) -> Stream:
    return Stream(moto_server.endpoint_url)


@pytest.fixture
def run_source() -> Iterator[Callable[..., tuple[FunctionUnderTest, Stats]]]:
    """Start a stream source for a mapping; every source is stopped at the end of the test."""
    started: list[tuple[threading.Event, stream_poller.DynamoDBStreamSource]] = []

    def start(stream: Stream, handler: Handler, **settings: Any) -> tuple[FunctionUnderTest, Stats]:
        function = FunctionUnderTest(handler)
        stop = threading.Event()
        stats = Stats()
        context = PollerContext(
            mapping=stream.mapping(**settings),
            target=Target(FUNCTION.arn, FUNCTION.name, (FUNCTION,), (1.0,)),
            session=stream.session,
            new_environment=lambda _: function,
            stats=stats,
            stop=stop,
            rng=random.Random(1),
        )
        source = stream_poller.DynamoDBStreamSource(context)
        source.start()
        started.append((stop, source))
        return function, stats

    yield start
    for stop, source in started:
        stop.set()
        source.close()


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_records_arrive_in_order_in_batches_of_the_batch_size(stream: Stream, run_source) -> None:  # type: ignore[no-untyped-def]
    stream.put(*range(25))
    function, _ = run_source(stream, lambda event: {"batchItemFailures": []})

    wait_for(lambda: len(function.user_ids()) >= 25, "25 records")
    assert function.user_ids() == [str(n) for n in range(25)]
    assert [len(e["Records"]) for e in function.events] == [10, 10, 5]
    record = function.events[0]["Records"][0]
    assert record["eventSourceARN"] == stream.arn
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)


def test_a_poison_record_is_isolated_by_bisection_and_the_shard_moves_on(
    stream: Stream,
    run_source,  # type: ignore[no-untyped-def]
) -> None:
    stream.put(*range(16))

    def fails_on_user_13(event: dict[str, Any]) -> Any:
        ids = [r["dynamodb"]["Keys"]["user_id"]["S"] for r in event["Records"]]
        if "13" in ids:
            raise RuntimeError("cannot handle user 13")
        return {"batchItemFailures": []}

    function, stats = run_source(stream, fails_on_user_13, BatchSize=16, MaximumRetryAttempts=2)

    def succeeded() -> list[str]:
        """Users of the batches that went through (those without user 13)."""
        batches = [
            [r["dynamodb"]["Keys"]["user_id"]["S"] for r in e["Records"]] for e in function.events
        ]
        return [user for users in batches if "13" not in users for user in users]

    wait_for(lambda: len(succeeded()) == 15, "every other record")
    wait_for(lambda: stats.snapshot().get("dead_lettered") == 1, "the poison record skipped")
    assert sorted(succeeded(), key=int) == [str(n) for n in range(16) if n != 13]
    (failure,) = stream.failures()
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert info["streamArn"] == stream.arn
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3  # first try + 2 retries
    assert stats.snapshot()["bisections"] >= 4  # 16 -> 8 -> 4 -> 2 -> 1


def test_a_reported_item_failure_is_the_checkpoint(stream: Stream, run_source) -> None:  # type: ignore[no-untyped-def]
    stream.put(*range(6))
    calls: list[int] = []

    def fails_once_at_the_fourth(event: dict[str, Any]) -> Any:
        calls.append(len(event["Records"]))
        if len(calls) == 1:
            return {
                "batchItemFailures": [
                    {"itemIdentifier": event["Records"][3]["dynamodb"]["SequenceNumber"]}
                ]
            }
        return {"batchItemFailures": []}

    function, _ = run_source(stream, fails_once_at_the_fourth)

    wait_for(lambda: len(calls) >= 2, "the retry")
    assert calls == [6, 3]  # the retry starts at the reported record
    assert function.user_ids() == ["0", "1", "2", "3", "4", "5", "3", "4", "5"]
    assert stream.failures() == []


def test_records_older_than_the_maximum_age_are_skipped(
    stream: Stream,
    run_source,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream.put(1, 2)
    later = time.time() + 120
    monkeypatch.setattr(stream_poller.time, "time", lambda: later)

    function, stats = run_source(
        stream, lambda event: {"batchItemFailures": []}, MaximumRecordAgeInSeconds=60
    )

    wait_for(lambda: stats.snapshot().get("dead_lettered") == 2, "the expired records")
    assert function.events == []
    (failure,) = stream.failures()
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2


def test_a_tumbling_window_carries_state_and_ends_with_a_final_invoke(
    stream: Stream,
    run_source,  # type: ignore[no-untyped-def]
) -> None:
    window_s = 2

    def counts(event: dict[str, Any]) -> Any:
        state = dict(event["state"])
        state["seen"] = state.get("seen", 0) + len(event["Records"])
        return {"state": state}

    # Align the writes to the start of a window so they all fall in one.
    time.sleep(window_s - time.time() % window_s + 0.05)
    stream.put(1, 2, 3)
    function, _ = run_source(stream, counts, TumblingWindowInSeconds=window_s, BatchSize=2)

    wait_for(lambda: any(e["isFinalInvokeForWindow"] for e in function.events), "the final invoke")
    *batches, final = function.events
    assert [len(e["Records"]) for e in batches] == [2, 1]
    assert [e["state"] for e in batches] == [{}, {"seen": 2}]
    assert final["Records"] == []
    assert final["state"] == {"seen": 3}
    assert final["isWindowTerminatedEarly"] is False
    starts = {e["window"]["start"] for e in function.events}
    assert len(starts) == 1
    assert {e["shardId"] for e in function.events} == {function.events[0]["shardId"]}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"ParallelizationFactor": 2}, "ParallelizationFactor 2"),
        ({"StartingPosition": "AT_TIMESTAMP"}, "StartingPosition AT_TIMESTAMP is not emulated"),
        (
            {"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sns:us-east-1:1:t"}}},
            "only SQS queues are emulated",
        ),
    ],
)
def test_what_it_cannot_emulate_is_refused(
    stream: Stream,
    run_source,
    settings: dict[str, Any],
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    with pytest.raises(UserError, match=message):
        run_source(stream, lambda event: None, **settings)


def test_the_local_profile_publishes_stream_mappings_in_ssm(stream: Stream) -> None:
    ssm = stream.session.client("ssm")
    raw = {
        "UUID": "local-changes",
        "EventSourceArn": stream.arn,
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:changes:live",
        "BatchSize": 100,
        "StartingPosition": "TRIM_HORIZON",
        "TumblingWindowInSeconds": 60,
        "State": "Disabled",
    }
    name = f"{mappings.PUBLISHED_PATH}{stream.table}"
    ssm.put_parameter(Name=name, Value=json.dumps(raw), Type="String")
    try:
        found = [m for m in mappings.published(ssm) if m.event_source_arn == stream.arn]
    finally:
        ssm.delete_parameter(Name=name)

    assert [(m.uuid, m.batch_size, m.tumbling_window_s, m.source_type) for m in found] == [
        ("local-changes", 100, 60, "dynamodb")
    ]
