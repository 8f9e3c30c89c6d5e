"""Build an SQS event from plain message bodies, as if they had just been sent and received.

Lets `scripts.invoke --body …` (and tests) exercise the handler with any batch without a queue:
each body becomes a ReceiveMessage-shaped message, converted by `sqs_event` exactly as the local
runner converts real ones. SentTimestamp increases by one millisecond per body, in order.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Sequence
from typing import Any

from scripts.harness.lambda_local import sqs_event

DEFAULT_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:registrations"
SENDER_ID = "AIDAEXAMPLELOCALSENDER"


def received_message(body: str, sent_ms: int) -> dict[str, Any]:
    """One message as ReceiveMessage returns it (first receive)."""
    return {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": secrets.token_urlsafe(48),
        "Body": body,
        "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 (SQS's checksum)
        "Attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(sent_ms),
            "SenderId": SENDER_ID,
            "ApproximateFirstReceiveTimestamp": str(sent_ms + 1),
        },
    }


def event_from_bodies(
    bodies: Sequence[str], queue_arn: str = DEFAULT_QUEUE_ARN, *, sent_ms: int | None = None
) -> dict[str, Any]:
    start = int(time.time() * 1000) if sent_ms is None else sent_ms
    messages = [received_message(body, start + index) for index, body in enumerate(bodies)]
    return sqs_event.event(messages, queue_arn)
