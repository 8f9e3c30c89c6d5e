"""Property: any order and duplication of deliveries leaves both stores identical and expected.

Registrations are drawn for a few users with deliberately colliding timestamps (equal instants
written differently, ties with different content), in both message shapes. Every registration
is delivered at least once, some several times (redeliveries keep their messageId), in any
order, split into batches of 1-10. Afterwards MySQL and DynamoDB must hold, per user, exactly the
registration with the highest (registered_at, content digest), and equal each other.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registration.validation import parse_registration
from scripts.harness.lambda_local import sqs_event
from tests.lambdas.registration.support import HandlerStores

pytestmark = pytest.mark.integration

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:registrations"
NOW = datetime.now(UTC)
# 00:00Z and 01:00+01:00 are the same instant: equal registered_at, so content breaks the tie.
TIMESTAMPS = [
    "2026-01-01T00:00:00Z",
    "2026-01-01T01:00:00+01:00",
    "2026-01-01T00:00:00.000001Z",
    "2025-12-31T23:59:59.999999Z",
]
SENT_TIMESTAMPS = ["1767225600000", "1767225600001"]
NAMES = st.sampled_from(["Ada", "Åsa Öberg", "李小龍", "Zoë 🎌", "O'Brien; DROP TABLE users"]) | (
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=12).filter(
        lambda name: name.strip() == name
    )
)
EMAILS = st.none() | st.sampled_from(["a@example.com", "b@example.org"])

CANONICAL = st.builds(
    lambda user, name, email, moment: (
        {"user_id": user, "name": name, "registered_at": moment}
        | ({"email": email} if email else {}),
        SENT_TIMESTAMPS[0],
    ),
    st.sampled_from(["u-a", "u-b", "U-A"]),
    NAMES,
    EMAILS,
    st.sampled_from(TIMESTAMPS),
)
LEGACY = st.builds(
    lambda customer, name, sent: ({"CustID": customer, "Name": name}, sent),
    st.sampled_from([1, 2]),
    NAMES,
    st.sampled_from(SENT_TIMESTAMPS),
)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[list[int]]]:
    """(messages, batches of indices into messages): each message at least once, any order."""
    documents = draw(st.lists(CANONICAL | LEGACY, min_size=1, max_size=8))
    messages = [message(index, document, sent) for index, (document, sent) in enumerate(documents)]
    repeats = draw(st.lists(st.integers(0, len(messages) - 1), max_size=len(messages)))
    order = draw(st.permutations(list(range(len(messages))) + repeats))
    batches, start = [], 0
    while start < len(order):
        size = draw(st.integers(1, 10))
        batches.append(order[start : start + size])
        start += size
    return messages, batches


def message(index: int, document: dict[str, Any], sent: str) -> dict[str, Any]:
    body = json.dumps(document, ensure_ascii=False)
    return {
        "MessageId": f"message-{index}",
        "ReceiptHandle": f"handle-{index}",
        "Body": body,
        "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 (SQS's checksum)
        "Attributes": {"SentTimestamp": sent, "ApproximateReceiveCount": "1"},
    }


def expected_content(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The newest registration per user, by the documented order."""
    newest: dict[str, Any] = {}
    for item in messages:
        registration = parse_registration(item["Body"], item["Attributes"], now=NOW)
        current = newest.get(registration.user_id)
        key = (registration.registered_at, registration.version)
        if current is None or key > (current.registered_at, current.version):
            newest[registration.user_id] = registration
    return {
        user_id: {
            "name": registration.name,
            "email": registration.email,
            "registered_at": registration.registered_at_text,
            "version": registration.version,
        }
        for user_id, registration in newest.items()
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=deliveries())
def test_any_order_and_duplication_converges(
    handler_stores: HandlerStores, plan: tuple[list[dict[str, Any]], list[list[int]]]
) -> None:
    messages, batches = plan
    handler_stores.clear()  # the stores are shared by this test's examples
    for batch in batches:
        event = sqs_event.event([messages[index] for index in batch], QUEUE_ARN)
        assert handler_stores.invoke(event) == {"batchItemFailures": []}
    mysql, dynamodb = handler_stores.mysql_users(), handler_stores.dynamodb_users()
    assert mysql == dynamodb
    assert mysql == expected_content(messages)
