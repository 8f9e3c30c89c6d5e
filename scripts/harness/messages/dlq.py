"""Read a dead-letter queue without consuming it.

SQS has no peek: a receive hides a message for its visibility timeout. Verify must leave the DLQ
as it found it (people redrive or inspect it afterwards), so every message is received with a
visibility timeout long enough for the scan, and all of them are made visible again at the end
(ChangeMessageVisibility 0), also when the scan fails half-way. Nothing is ever deleted. The
only trace left is a higher ApproximateReceiveCount, which a DLQ (no redrive policy) ignores.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

RECEIVE_MAX = 10
SCAN_VISIBILITY_S = 60


@dataclass(frozen=True)
class DeadLetter:
    """One DLQ message, with the handler's reason attributes when it sent it itself."""

    message_id: str
    body: str
    source_message_id: str | None
    failure_reason: str | None
    failure_detail: str | None
    receive_count: int

    @property
    def original_message_id(self) -> str:
        """The source queue's MessageId: redrive keeps it, the handler's send records it."""
        return self.source_message_id or self.message_id


def _string_attribute(message: dict[str, Any], name: str) -> str | None:
    value = message.get("MessageAttributes", {}).get(name)
    return value.get("StringValue") if value else None


def parse(message: dict[str, Any]) -> DeadLetter:
    return DeadLetter(
        message_id=message["MessageId"],
        body=message["Body"],
        source_message_id=_string_attribute(message, "source_message_id"),
        failure_reason=_string_attribute(message, "failure_reason"),
        failure_detail=_string_attribute(message, "failure_detail"),
        receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", "0")),
    )


@contextlib.contextmanager
def held(sqs: Any, queue_url: str, visibility_s: int = SCAN_VISIBILITY_S) -> Iterator[list[dict]]:
    """Receive every message currently in the queue; release them all on exit."""
    received: dict[str, dict[str, Any]] = {}
    try:
        while True:
            response = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=RECEIVE_MAX,
                VisibilityTimeout=visibility_s,
                WaitTimeSeconds=1,  # long poll: a short poll may sample too few servers on AWS
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages = response.get("Messages", [])
            if not messages:
                break
            for message in messages:
                received[message["MessageId"]] = message
        yield list(received.values())
    finally:
        release(sqs, queue_url, [m["ReceiptHandle"] for m in received.values()])


def release(sqs: Any, queue_url: str, receipt_handles: list[str]) -> None:
    """Make received messages visible again right away (best effort: they reappear anyway)."""
    for start in range(0, len(receipt_handles), RECEIVE_MAX):
        entries = [
            {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
            for i, handle in enumerate(receipt_handles[start : start + RECEIVE_MAX])
        ]
        with contextlib.suppress(BotoCoreError, ClientError):
            sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)


def peek(sqs: Any, queue_url: str, visibility_s: int = SCAN_VISIBILITY_S) -> list[DeadLetter]:
    """Every message in the queue, left in place."""
    with held(sqs, queue_url, visibility_s) as messages:
        return [parse(message) for message in messages]
