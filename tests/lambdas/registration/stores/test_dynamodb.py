"""The conditional put: stale writes are outcomes, throttling and outages are transient errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from registration.errors import StoreUnavailableError
from registration.models import Registration
from registration.stores.dynamodb import (
    NEWER_VERSION_CONDITION,
    DynamoDBStore,
    WriteOutcome,
    to_item,
)

REGISTRATION = Registration("u-1", "Ada", None, datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def stubbed() -> Iterator[tuple[DynamoDBStore, Stubber]]:
    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield DynamoDBStore(client, "users"), stubber
        stubber.assert_no_pending_responses()


def expected_params() -> dict[str, object]:
    return {
        "TableName": "users",
        "Item": to_item(REGISTRATION),
        "ConditionExpression": NEWER_VERSION_CONDITION,
        "ExpressionAttributeValues": {":version": {"S": REGISTRATION.version}},
    }


def test_item_has_no_email_attribute_when_there_is_none() -> None:
    assert set(to_item(REGISTRATION)) == {"user_id", "name", "registered_at", "version"}
    with_email = Registration("u-1", "Ada", "ada@example.com", REGISTRATION.registered_at)
    assert to_item(with_email)["email"] == {"S": "ada@example.com"}


def test_applied(stubbed: tuple[DynamoDBStore, Stubber]) -> None:
    store, stubber = stubbed
    stubber.add_response("put_item", {}, expected_params())
    assert store.put(REGISTRATION) is WriteOutcome.APPLIED


def test_condition_failure_means_stale(stubbed: tuple[DynamoDBStore, Stubber]) -> None:
    store, stubber = stubbed
    stubber.add_client_error("put_item", "ConditionalCheckFailedException", expected_params=None)
    assert store.put(REGISTRATION) is WriteOutcome.STALE


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "ThrottlingException", "InternalServerError"]
)
def test_throttling_and_outages_are_transient(
    stubbed: tuple[DynamoDBStore, Stubber], code: str
) -> None:
    store, stubber = stubbed
    stubber.add_client_error("put_item", code, http_status_code=400)
    with pytest.raises(StoreUnavailableError, match=code):
        store.put(REGISTRATION)


def test_unreachable_endpoint_is_transient() -> None:
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=boto3.session.Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(StoreUnavailableError, match="EndpointConnectionError"):
        DynamoDBStore(client, "users").put(REGISTRATION)
