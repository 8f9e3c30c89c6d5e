"""Move messages from a dead-letter queue back to its source queue.

On AWS, StartMessageMoveTask does it server-side (and keeps the original message attributes);
moto 5.2.5 does not implement it (the call fails with HTTP 500), so the same command falls back to
receive + SendMessageBatch + DeleteMessageBatch, deleting a message from the DLQ only after the
source queue accepted its copy: a crash can duplicate a message, never lose one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

RECEIVE_MAX = 10
MOVE_VISIBILITY_S = 60
# What an endpoint without the API answers: moto's 500, or an explicit "not supported".
UNSUPPORTED_CODES = frozenset({"500", "501", "InvalidAction", "UnsupportedOperation",
                               "NotImplemented", "InternalFailure"})  # fmt: skip
TERMINAL_STATES = frozenset({"COMPLETED", "CANCELLED", "FAILED"})


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


def copy_loop(sqs: Any, dlq_url: str, queue_url: str, limit: int | None = None) -> MoveResult:
    """Receive from the DLQ, send to the queue, delete what was sent; until empty or `limit`
    (give one: without it, messages that fail again and return to the DLQ keep it busy)."""
    moved = failed = 0
    while limit is None or moved < limit:
        wanted = RECEIVE_MAX if limit is None else min(RECEIVE_MAX, limit - moved)
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=wanted,
            VisibilityTimeout=MOVE_VISIBILITY_S,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        by_id = {str(i): m for i, m in enumerate(messages)}
        entries = []
        for entry_id, message in by_id.items():
            entry: dict[str, Any] = {"Id": entry_id, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        sent = [by_id[e["Id"]] for e in response.get("Successful", [])]
        failed += len(response.get("Failed", []))
        if sent:
            sqs.delete_message_batch(
                QueueUrl=dlq_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                         for i, m in enumerate(sent)],
            )  # fmt: skip
        moved += len(sent)
        if response.get("Failed"):
            break  # left in the DLQ; they reappear after the visibility timeout
    return MoveResult(moved=moved, method="receive/send/delete", failed=failed)
