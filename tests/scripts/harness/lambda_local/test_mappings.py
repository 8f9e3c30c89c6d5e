"""Mapping settings as read from the Lambda API, and what the runner refuses before it runs."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.harness.lambda_local import mappings, sqs_poller, stream_poller
from scripts.harness.lambda_local.aliases import Target
from scripts.harness.lambda_local.config import FunctionConfig, MappingConfig

QUEUE = "arn:aws:sqs:us-east-1:123456789012:registrations"
STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/2026-11-30T00:00:00.000"
KINESIS = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"


def api_entry(**overrides: Any) -> dict[str, Any]:
    return {
        "UUID": "u-1",
        "EventSourceArn": QUEUE,
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:registration:live",
        "BatchSize": 10,
        "State": "Disabled",
        **overrides,
    }


def function(reserved: int | None = None) -> FunctionConfig:
    return FunctionConfig("registration", "arn", "h", "python3.12", 3, 128, {}, "sha", "1",
                          reserved_concurrency=reserved)  # fmt: skip


def test_reads_the_stream_settings_a_stream_poller_needs() -> None:
    mapping = MappingConfig.from_api(
        api_entry(
            EventSourceArn=STREAM,
            StartingPosition="TRIM_HORIZON",
            BisectBatchOnFunctionError=True,
            MaximumRetryAttempts=2,
            MaximumRecordAgeInSeconds=3600,
            ParallelizationFactor=1,
            DestinationConfig={"OnFailure": {"Destination": QUEUE}},
        )
    )
    assert mapping.source_type == "dynamodb"
    assert (mapping.starting_position, mapping.bisect_on_error) == ("TRIM_HORIZON", True)
    assert (mapping.maximum_retry_attempts, mapping.maximum_record_age_s) == (2, 3600)
    assert mapping.on_failure_destination == QUEUE
    assert mapping.function_arn.endswith(":registration:live")


def test_reads_the_sqs_settings() -> None:
    mapping = MappingConfig.from_api(
        api_entry(
            BatchSize=100,
            MaximumBatchingWindowInSeconds=5,
            FunctionResponseTypes=["ReportBatchItemFailures"],
            ScalingConfig={"MaximumConcurrency": 20},
            FilterCriteria={"Filters": [{"Pattern": '{"body": {"kind": ["signup"]}}'}]},
        )
    )
    assert (mapping.source_type, mapping.batch_size, mapping.batching_window_s) == ("sqs", 100, 5)
    assert mapping.receive_max == 10
    assert mapping.maximum_concurrency == 20
    assert mapping.filter_criteria == {"Filters": [{"Pattern": '{"body": {"kind": ["signup"]}}'}]}
    assert not mapping.enabled


def test_sqs_queues_and_dynamodb_streams_have_pollers() -> None:
    assert sorted(mappings.SOURCES) == ["dynamodb", "sqs"]
    assert mappings.SOURCES["sqs"] is sqs_poller.SqsEventSource
    assert mappings.SOURCES["dynamodb"] is stream_poller.DynamoDBStreamSource


@pytest.mark.parametrize(
    ("entry", "target", "expected"),
    [
        (api_entry(State="Enabled"), None, "is Enabled: moto would consume the source itself"),
        (api_entry(EventSourceArn=KINESIS), None, "no local poller for kinesis event sources"),
        (api_entry(), Target("arn", "registration", (function(0),), (1.0,)),
         "reserved concurrency 0"),
    ],
    ids=["enabled", "unknown-source-type", "reserved-concurrency-0"],
)  # fmt: skip
def test_refusals_are_one_line(entry: dict[str, Any], target: Target | None, expected: str) -> None:
    problem = mappings.refusal(MappingConfig.from_api(entry), target)
    assert problem is not None
    assert expected in problem
    assert "\n" not in problem


def test_a_disabled_sqs_mapping_with_capacity_is_run() -> None:
    target = Target("arn", "registration", (function(10),), (1.0,))
    assert mappings.refusal(MappingConfig.from_api(api_entry()), target) is None


def test_fifo_queues_are_refused_by_the_sqs_poller() -> None:
    mapping = MappingConfig.from_api(api_entry(EventSourceArn=f"{QUEUE}.fifo"))
    problem = sqs_poller.refusal(mapping)
    assert problem is not None
    assert "per-message-group ordering" in problem


@pytest.mark.parametrize(
    ("maximum", "reserved", "cap", "expected"),
    [
        (None, None, None, 1000),
        (20, None, 5, 5),
        (2, None, 5, 2),
        (20, 3, 5, 3),
        (None, 7, None, 7),
    ],
)
def test_concurrency_is_the_tightest_limit(
    maximum: int | None, reserved: int | None, cap: int | None, expected: int
) -> None:
    mapping = MappingConfig.from_api(api_entry(ScalingConfig={"MaximumConcurrency": maximum}))
    assert sqs_poller.maximum_concurrency(mapping, function(reserved), cap) == expected
