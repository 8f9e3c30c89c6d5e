"""Move messages from a dead-letter queue back to its source queue.

On AWS, StartMessageMoveTask does it server-side (and keeps the original message attributes);
moto 5.2.5 does not implement it (the call fails with HTTP 500), so the same command falls back to
receive + SendMessageBatch + DeleteMessageBatch, deleting a message from the DLQ only after the
source queue accepted its copy: a crash can duplicate a message, never lose one.

Both give a moved message a new SentTimestamp. A legacy body (`{"CustID", "Name"}`) has no
registered_at and takes its order from the send time, so a stale one moved back would overtake
newer registrations. The copy loop therefore carries each message's original send time as the
message attribute `original_sent_timestamp` (Number, epoch ms; one already present is kept, so a
second redrive keeps the first send time), which the handler prefers; and `make redrive` moves
legacy bodies with the copy loop even where StartMessageMoveTask exists.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from scripts.harness.messages import dlq

RECEIVE_MAX = 10
MOVE_VISIBILITY_S = 60
# What an endpoint without the API answers: moto's 500, or an explicit "not supported".
UNSUPPORTED_CODES = frozenset({"500", "501", "InvalidAction", "UnsupportedOperation",
                               "NotImplemented", "InternalFailure"})  # fmt: skip
TERMINAL_STATES = frozenset({"COMPLETED", "CANCELLED", "FAILED"})
ORIGINAL_SENT_TIMESTAMP = "original_sent_timestamp"
LEGACY_KEY = "CustID"  # lambdas/registration/validation.py: the legacy body's marker


@dataclass(frozen=True)
class MoveResult:
    moved: int
    method: str  # "StartMessageMoveTask" | "receive/send/delete"
    failed: int = 0
    detail: str = ""


def unsupported(error: ClientError) -> bool:
    """Whether the endpoint lacks StartMessageMoveTask (as opposed to refusing this move)."""
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in UNSUPPORTED_CODES or status in (500, 501)


def move_task(
    sqs: Any,
    source_arn: str,
    destination_arn: str,
    *,
    poll_s: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> MoveResult:
    """StartMessageMoveTask and wait for it to end."""
    handle = sqs.start_message_move_task(SourceArn=source_arn, DestinationArn=destination_arn)[
        "TaskHandle"
    ]
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=10)["Results"]
        task = next((t for t in tasks if t.get("TaskHandle") == handle), tasks[0] if tasks else {})
        if task.get("Status") in TERMINAL_STATES:
            return MoveResult(
                moved=int(task.get("ApproximateNumberOfMessagesMoved", 0)),
                method="StartMessageMoveTask",
                failed=int(task.get("Status") != "COMPLETED"),
                detail=task.get("FailureReason", ""),
            )
        sleep(poll_s)


def order_depends_on_send_time(body: str) -> bool:
    """Whether the handler orders this body by its send time (a legacy body)."""
    if LEGACY_KEY not in body:
        return False
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # hostile nesting: not a legacy body either way
        return False
    return isinstance(document, dict) and LEGACY_KEY in document


def carried_attributes(message: dict[str, Any]) -> dict[str, Any]:
    """The message's attributes plus its original send time (kept if already carried)."""
    attributes = {
        name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
        for name, value in message.get("MessageAttributes", {}).items()
    }
    sent = message.get("Attributes", {}).get("SentTimestamp")
    if ORIGINAL_SENT_TIMESTAMP not in attributes and sent is not None:
        attributes[ORIGINAL_SENT_TIMESTAMP] = {"DataType": "Number", "StringValue": sent}
    return attributes


def copy_loop(
    sqs: Any,
    dlq_url: str,
    queue_url: str,
    limit: int | None = None,
    *,
    select: Callable[[str], bool] | None = None,
    sent_before_ms: int | None = None,
) -> MoveResult:
    """Receive from the DLQ, send to the queue, delete what was sent; until empty or `limit`.

    With the function running, a moved message that fails again is back in the DLQ within
    seconds: `sent_before_ms` (the redrive's start, epoch ms) leaves such returns for the next
    redrive, so they cannot use up `limit` while older messages wait. With `select`, only bodies
    it accepts are moved. Messages left are held until the loop ends, then made visible again
    (a receive that brings nothing new also ends it, in case the scan outlasts their visibility
    timeout).
    """
    moved = failed = 0
    held: dict[str, str] = {}  # MessageId -> ReceiptHandle of messages left in the DLQ
    try:
        while limit is None or moved < limit:
            wanted = RECEIVE_MAX if limit is None else min(RECEIVE_MAX, limit - moved)
            messages = sqs.receive_message(
                QueueUrl=dlq_url,
                MaxNumberOfMessages=wanted,
                VisibilityTimeout=MOVE_VISIBILITY_S,
                WaitTimeSeconds=1,
                AttributeNames=["SentTimestamp"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages or all(m["MessageId"] in held for m in messages):
                break
            chosen = [m for m in messages if _wanted(m, select, sent_before_ms)]
            held.update((m["MessageId"], m["ReceiptHandle"]) for m in messages if m not in chosen)
            if not chosen:
                continue
            sent, refused = _copy(sqs, dlq_url, queue_url, chosen)
            moved += sent
            failed += refused
            if refused:
                break  # left in the DLQ; they reappear after the visibility timeout
    finally:
        dlq.release(sqs, dlq_url, list(held.values()))
    return MoveResult(moved=moved, method="receive/send/delete", failed=failed)


def _wanted(
    message: dict[str, Any], select: Callable[[str], bool] | None, sent_before_ms: int | None
) -> bool:
    sent = int(message.get("Attributes", {}).get("SentTimestamp", 0))
    if sent_before_ms is not None and sent >= sent_before_ms:
        return False
    return select is None or select(message["Body"])


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _copy(
    sqs: Any, dlq_url: str, queue_url: str, messages: list[dict[str, Any]]
) -> tuple[int, int]:
    """Send copies of `messages` to the queue, delete those accepted; (sent, refused)."""
    by_id = {str(i): m for i, m in enumerate(messages)}
    entries = [
        {"Id": entry_id, "MessageBody": m["Body"], "MessageAttributes": carried_attributes(m)}
        for entry_id, m in by_id.items()
    ]
    response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    sent = [by_id[e["Id"]] for e in response.get("Successful", [])]
    if sent:
        sqs.delete_message_batch(
            QueueUrl=dlq_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(sent)
            ],
        )
    return len(sent), len(response.get("Failed", []))
