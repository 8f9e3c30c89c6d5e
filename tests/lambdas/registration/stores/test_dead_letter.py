"""The DLQ sender: batches of 10 against moto, and per-entry refusals retried once then reported."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from registration.errors import DeadLetterError, FailureReason, ValidationError
from registration.stores.dead_letter import MAX_BATCH_BYTES, DeadLetterQueue, Rejection
from tests.lambdas.registration.support import HandlerStores

BAD_JSON = ValidationError(FailureReason.INVALID_JSON, "body is not valid JSON")


def rejection(index: int, body: str = "not json") -> Rejection:
    return Rejection(f"message-{index}", body, BAD_JSON)


def stub_client() -> Any:
    return boto3.client(
        "sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


@pytest.mark.integration
def test_every_rejection_lands_once_with_its_reason(handler_stores: HandlerStores) -> None:
    sqs = boto3.client(
        "sqs",
        endpoint_url=handler_stores.stores.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    calls: list[str] = []
    sqs.meta.events.register("before-call.sqs.*", lambda model, **_: calls.append(model.name))
    rejections = [rejection(index, f"bad body {index}") for index in range(23)]
    results = DeadLetterQueue(sqs, handler_stores.stores.dlq_url).send_all(rejections)
    assert calls == ["SendMessageBatch"] * 3
    assert all(isinstance(message_id, str) for message_id in results.values())
    landed = handler_stores.dlq_messages()
    assert sorted(m["source_message_id"] for m in landed) == sorted(results)
    assert {m["body"]: m["source_message_id"] for m in landed} == {
        f"bad body {index}": f"message-{index}" for index in range(23)
    }
    assert {m["failure_reason"] for m in landed} == {"invalid_json"}


def test_a_refused_entry_is_sent_again() -> None:
    client = stub_client()
    with Stubber(client) as stubber:
        stubber.add_response(
            "send_message_batch",
            {
                "Successful": [{"Id": "0", "MessageId": "dlq-0", "MD5OfMessageBody": "x"}],
                "Failed": [{"Id": "1", "SenderFault": False, "Code": "InternalError"}],
            },
        )
        stubber.add_response(
            "send_message_batch",
            {
                "Successful": [{"Id": "0", "MessageId": "dlq-1", "MD5OfMessageBody": "x"}],
                "Failed": [],
            },
        )
        results = DeadLetterQueue(client, "dlq").send_all([rejection(0), rejection(1)])
        stubber.assert_no_pending_responses()
    assert results == {"message-0": "dlq-0", "message-1": "dlq-1"}


def test_an_entry_refused_twice_is_reported_alone() -> None:
    client = stub_client()
    refused = {"Id": "1", "SenderFault": False, "Code": "InternalError"}
    with Stubber(client) as stubber:
        stubber.add_response(
            "send_message_batch",
            {
                "Successful": [{"Id": "0", "MessageId": "dlq-0", "MD5OfMessageBody": "x"}],
                "Failed": [refused],
            },
        )
        stubber.add_response(
            "send_message_batch", {"Successful": [], "Failed": [refused | {"Id": "0"}]}
        )
        results = DeadLetterQueue(client, "dlq").send_all([rejection(0), rejection(1)])
    assert results["message-0"] == "dlq-0"
    assert isinstance(results["message-1"], DeadLetterError)
    assert "InternalError" in str(results["message-1"])


def test_a_body_over_the_batch_limit_goes_alone_through_send_message() -> None:
    client = stub_client()
    large = rejection(1, "x" * (MAX_BATCH_BYTES + 1))
    with Stubber(client) as stubber:
        stubber.add_response(
            "send_message_batch",
            {
                "Successful": [{"Id": "0", "MessageId": "dlq-0", "MD5OfMessageBody": "x"}],
                "Failed": [],
            },
        )
        stubber.add_response("send_message", {"MessageId": "dlq-1", "MD5OfMessageBody": "x"})
        results = DeadLetterQueue(client, "dlq").send_all([rejection(0), large])
        stubber.assert_no_pending_responses()
    assert results == {"message-0": "dlq-0", "message-1": "dlq-1"}
