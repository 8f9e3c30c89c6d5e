"""The conditional put against moto: what the condition does, not which string it sends.

Older, equal, newer and absent stored versions are written for real and read back; botocore's
retry configuration (the one the handler ships) is exercised against the chaos fault proxy, which
answers DynamoDB calls with the throttling errors AWS sends.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.stub import Stubber

from registration.config import AWS_MAX_ATTEMPTS
from registration.errors import StoreUnavailableError
from registration.models import Registration
from registration.resources import AWS_CLIENT_CONFIG
from registration.stores.dynamodb import DynamoDBStore, WriteOutcome, to_item
from scripts.harness.chaos.fault_proxy import FaultProxy
from scripts.harness.stack import local_stores

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, tzinfo=UTC)
INCOMING = Registration("u-1", "Ada", "ada@example.com", T0)


def client(endpoint_url: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=AWS_CLIENT_CONFIG,
    )


@pytest.fixture
def table(fresh_stores: local_stores.ProvisionedStores) -> tuple[Any, str]:
    return client(fresh_stores.endpoint_url), fresh_stores.table_name


def stored(table: tuple[Any, str]) -> dict[str, Any] | None:
    dynamodb, name = table
    item = dynamodb.get_item(TableName=name, Key={"user_id": {"S": "u-1"}}, ConsistentRead=True)
    return item.get("Item")


def test_item_has_no_email_attribute_when_there_is_none() -> None:
    without = Registration("u-1", "Ada", None, T0)
    assert set(to_item(without)) == {"user_id", "name", "registered_at", "version"}
    assert to_item(INCOMING)["email"] == {"S": "ada@example.com"}


def test_absent_user_is_written(table: tuple[Any, str]) -> None:
    assert DynamoDBStore(*table).put(INCOMING) is WriteOutcome.APPLIED
    assert stored(table) == to_item(INCOMING)


def test_older_stored_version_is_replaced(table: tuple[Any, str]) -> None:
    store = DynamoDBStore(*table)
    store.put(Registration("u-1", "Old", None, T0 - timedelta(microseconds=1)))
    assert store.put(INCOMING) is WriteOutcome.APPLIED
    assert stored(table) == to_item(INCOMING)


def test_newer_stored_version_is_kept(table: tuple[Any, str]) -> None:
    store = DynamoDBStore(*table)
    newer = Registration("u-1", "New", None, T0 + timedelta(microseconds=1))
    store.put(newer)
    assert store.put(INCOMING) is WriteOutcome.STALE
    assert stored(table) == to_item(newer)


def test_same_instant_is_ordered_by_digest(table: tuple[Any, str]) -> None:
    store = DynamoDBStore(*table)
    other = Registration("u-1", "Ada L.", "ada@example.com", T0)
    low, high = sorted([INCOMING, other], key=lambda registration: registration.version)
    store.put(high)
    assert store.put(low) is WriteOutcome.STALE
    assert stored(table) == to_item(high)


def test_equal_version_counts_as_applied(table: tuple[Any, str]) -> None:
    """A retried PutItem whose first response was lost fails the condition on its own write."""
    store = DynamoDBStore(*table)
    assert store.put(INCOMING) is WriteOutcome.APPLIED
    assert store.put(Registration("u-1", "Ada", "ada@example.com", T0)) is WriteOutcome.APPLIED
    assert stored(table) == to_item(INCOMING)


class LosesFirstResponse:
    """An HTTP proxy to moto that forwards the first request but drops the connection instead
    of answering it: a PutItem applied by DynamoDB whose response never reached the client."""

    def __init__(self, upstream_url: str) -> None:
        upstream = urlsplit(upstream_url)
        self.requests = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                connection = http.client.HTTPConnection(upstream.hostname, upstream.port)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                connection.request("POST", self.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                connection.close()
                proxy.requests += 1
                if proxy.requests == 1:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in {"connection", "transfer-encoding", "content-length"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                """Silent."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.endpoint_url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_a_lost_response_retried_by_botocore_counts_as_applied(
    fresh_stores: local_stores.ProvisionedStores,
) -> None:
    proxy = LosesFirstResponse(fresh_stores.endpoint_url)
    try:
        store = DynamoDBStore(client(proxy.endpoint_url), fresh_stores.table_name)
        assert store.put(INCOMING) is WriteOutcome.APPLIED
        assert proxy.requests == 2  # applied, response lost, retried: the condition failed
    finally:
        proxy.close()
    assert stored((client(fresh_stores.endpoint_url), fresh_stores.table_name)) == to_item(INCOMING)


def test_throttling_is_retried_by_botocore_then_transient(
    fresh_stores: local_stores.ProvisionedStores,
) -> None:
    proxy = FaultProxy(fresh_stores.endpoint_url).start()
    try:
        proxy.throttle(True)
        store = DynamoDBStore(client(proxy.endpoint_url), fresh_stores.table_name)
        with pytest.raises(
            StoreUnavailableError, match=r"ProvisionedThroughputExceeded|Throttling"
        ):
            store.put(INCOMING)
        # Standard retry mode, 3 attempts in all: the first call and two retries, then give up.
        assert proxy.injected == AWS_MAX_ATTEMPTS
        proxy.throttle(False)
        assert store.put(INCOMING) is WriteOutcome.APPLIED
    finally:
        proxy.stop()
    assert stored((client(fresh_stores.endpoint_url), fresh_stores.table_name)) == to_item(INCOMING)


@pytest.fixture
def stubbed() -> Iterator[tuple[DynamoDBStore, Stubber]]:
    stub_client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(stub_client) as stubber:
        yield DynamoDBStore(stub_client, "users"), stubber
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize("code", ["ResourceNotFoundException", "InternalServerError"])
def test_other_errors_are_transient(stubbed: tuple[DynamoDBStore, Stubber], code: str) -> None:
    store, stubber = stubbed
    stubber.add_client_error("put_item", code, http_status_code=400)
    with pytest.raises(StoreUnavailableError, match=code):
        store.put(INCOMING)


def test_unreachable_endpoint_is_transient() -> None:
    unreachable = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=boto3.session.Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(StoreUnavailableError, match="EndpointConnectionError"):
        DynamoDBStore(unreachable, "users").put(INCOMING)
