"""The runner deletes exactly what Lambda's SQS poller would delete."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.harness.lambda_local.batch_result import REPORT_BATCH_ITEM_FAILURES, settle

IDS = ["m1", "m2", "m3"]
PARTIAL = (REPORT_BATCH_ITEM_FAILURES,)


def decide(response: Any, *, error: str | None = None, types: tuple[str, ...] = PARTIAL):
    return settle(IDS, function_error=error, response=response, response_types=types)


@pytest.mark.parametrize(
    "response",
    [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}, {"other": 1}],
)
def test_complete_success_deletes_everything(response: Any) -> None:
    settlement = decide(response)
    assert settlement.delete == tuple(IDS)
    assert settlement.retry == ()


def test_partial_failure_deletes_only_the_successes() -> None:
    settlement = decide({"batchItemFailures": [{"itemIdentifier": "m2"}]})
    assert settlement.delete == ("m1", "m3")
    assert settlement.retry == ("m2",)
    assert not settlement.whole_batch_failed


def test_every_item_reported_retries_the_batch() -> None:
    failures = [{"itemIdentifier": i} for i in IDS]
    settlement = decide({"batchItemFailures": failures})
    assert settlement.delete == ()
    assert settlement.whole_batch_failed


@pytest.mark.parametrize(
    "response",
    [
        "ok",
        ["m1"],
        42,
        {"batchItemFailures": "m1"},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemIdentifer": "m1"}]},
        {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": 7}]},
        {"batchItemFailures": ["m1"]},
    ],
)
def test_malformed_response_fails_the_whole_batch(response: Any) -> None:
    settlement = decide(response)
    assert settlement.delete == ()
    assert settlement.retry == tuple(IDS)
    assert settlement.reason.startswith("malformed response")


def test_function_error_deletes_nothing_even_with_a_valid_response() -> None:
    settlement = decide({"batchItemFailures": []}, error="Task timed out after 3.00 seconds")
    assert settlement.delete == ()
    assert settlement.reason.startswith("function error")


def test_without_report_batch_item_failures_the_response_is_ignored() -> None:
    settlement = decide({"batchItemFailures": [{"itemIdentifier": "m1"}]}, types=())
    assert settlement.delete == tuple(IDS)
    assert decide("garbage", types=()).delete == tuple(IDS)
