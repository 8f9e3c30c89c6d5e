"""Put planned messages on a queue with SendMessageBatch, ten at a time, retrying what failed.

SendMessageBatch succeeds per entry: an entry SQS failed on its side (SenderFault false) is sent
again with backoff; one it refused (SenderFault true: e.g. a body over the size limit) is recorded
as failed for good. When SQS refuses the whole call instead (a body over the queue's
MaximumMessageSize, a batch over the request limit), each entry is sent alone, so only the
offending one is recorded as refused. Batches go out one after another so that sending order,
which the out-of-order cases depend on, is what the ledger says.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from scripts.harness.messages.registrations import PlannedMessage

BATCH_SIZE = 10
MAX_ATTEMPTS = 5
BACKOFF_BASE_S = 0.2
# Whole-call refusals caused by the request's content: retrying the same call cannot succeed.
REQUEST_REFUSED = frozenset(
    {"InvalidParameterValue", "BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong"}
)


@dataclass(frozen=True)
class SendResult:
    """What happened to one planned message."""

    index: int  # position in the plan
    message_id: str | None
    window: tuple[int, int]  # epoch ms around the call that was accepted (or last tried)
    error: str | None = None


def batches(plan: Sequence[PlannedMessage]) -> Iterator[list[tuple[int, PlannedMessage]]]:
    for start in range(0, len(plan), BATCH_SIZE):
        yield list(enumerate(plan[start : start + BATCH_SIZE], start=start))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def send_batch(
    sqs: Any,
    queue_url: str,
    batch: list[tuple[int, PlannedMessage]],
    sleep: Callable[[float], None] = time.sleep,
) -> list[SendResult]:
    """Send one batch of up to ten; return a result per message, in plan order."""
    pending = dict(batch)
    results: dict[int, SendResult] = {}
    for attempt in range(MAX_ATTEMPTS):
        if not pending:
            break
        if attempt:
            sleep(BACKOFF_BASE_S * 2 ** (attempt - 1))
        started = now_ms()
        try:
            response = sqs.send_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "MessageBody": m.body} for i, m in pending.items()],
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code not in REQUEST_REFUSED:
                raise
            window = (started, now_ms())
            if len(pending) > 1:  # find the offender: every entry on its own
                for index, message in list(pending.items()):
                    results[index] = send_batch(sqs, queue_url, [(index, message)], sleep)[0]
            else:
                (index,) = pending
                message = error.response.get("Error", {}).get("Message", "")
                results[index] = SendResult(index, None, window, f"{code}: {message}".strip())
            pending.clear()
            break
        window = (started, now_ms())
        for entry in response.get("Successful", []):
            index = int(entry["Id"])
            results[index] = SendResult(index, entry["MessageId"], window)
            pending.pop(index)
        for entry in response.get("Failed", []):
            index = int(entry["Id"])
            error = f"{entry.get('Code')}: {entry.get('Message', '')}".strip()
            results[index] = SendResult(index, None, window, error)
            if entry.get("SenderFault"):
                pending.pop(index)
    return [results[index] for index, _ in batch]
