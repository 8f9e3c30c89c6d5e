"""Park messages that can never succeed in the DLQ, with the reason as message attributes.

Sending them ourselves (instead of failing them until SQS redrives them) spares the database
``maxReceiveCount`` pointless attempts and records *why* each was rejected, which redrive cannot.
A batch's rejections go out with SendMessageBatch (one round trip per 10); an entry SQS refuses
on its own is sent once more, and if that fails too, only that record is retried by SQS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from registration.errors import DeadLetterError, TransientError, ValidationError

# SQS limits an attribute value only by the message size; keep details to one readable line.
MAX_DETAIL_LENGTH = 500
MAX_BATCH_ENTRIES = 10
# SendMessageBatch's payload limit (the sum of all entries) on a queue with the default size
# limit; a larger rejected body goes alone through SendMessage, which allows up to the queue's own.
MAX_BATCH_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Rejection:
    """One rejected SQS record: its id, its original body and why it can never be stored."""

    source_message_id: str
    body: str
    error: ValidationError

    def attributes(self) -> dict[str, dict[str, str]]:
        values = {
            "failure_reason": self.error.reason.value,
            "failure_detail": self.error.detail[:MAX_DETAIL_LENGTH],
            "source_message_id": self.source_message_id,
        }
        return {name: {"DataType": "String", "StringValue": v} for name, v in values.items()}

    def size(self) -> int:
        attributes = self.attributes()
        return len(self.body.encode("utf-8", "surrogatepass")) + sum(
            len(name) + len(value["DataType"]) + len(value["StringValue"].encode())
            for name, value in attributes.items()
        )


# Per source message id: the DLQ message id, or why it could not be sent.
SendResults = dict[str, str | Exception]


class DeadLetterQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send_all(
        self,
        rejections: Sequence[Rejection],
        check_deadline: Callable[[str], None] = lambda step: None,
    ) -> SendResults:
        """Forward every rejected body unchanged; never raises, failures are per message.

        ``check_deadline`` runs before each call; when it raises, the messages not yet sent get
        its error (the records are retried by SQS).
        """
        results: SendResults = {}
        pending = list(rejections)
        for attempt in range(2):
            failed: list[Rejection] = []
            for chunk in _chunks(pending):
                try:
                    check_deadline("a DLQ send")
                except TransientError as no_time:
                    for rejection in chunk:
                        results[rejection.source_message_id] = no_time
                    continue
                if len(chunk) == 1 and chunk[0].size() > MAX_BATCH_BYTES:
                    failed += self._send_one(chunk[0], results)
                else:
                    failed += self._send_batch(chunk, results)
            pending = failed
            if not pending or attempt == 1:
                break
        return results

    def _send_batch(self, chunk: Sequence[Rejection], results: SendResults) -> list[Rejection]:
        entries = {str(index): rejection for index, rejection in enumerate(chunk)}
        try:
            response = self._client.send_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {
                        "Id": entry_id,
                        "MessageBody": rejection.body,
                        "MessageAttributes": rejection.attributes(),
                    }
                    for entry_id, rejection in entries.items()
                ],
            )
        except (BotoCoreError, ClientError) as failure:
            error = DeadLetterError(f"DLQ SendMessageBatch failed: {_describe(failure)}")
            for rejection in chunk:
                results[rejection.source_message_id] = error
            return list(chunk)
        for sent in response.get("Successful", []):
            results[entries[sent["Id"]].source_message_id] = str(sent["MessageId"])
        failed = []
        for refused in response.get("Failed", []):
            rejection = entries[refused["Id"]]
            results[rejection.source_message_id] = DeadLetterError(
                f"DLQ SendMessageBatch refused the entry: {refused.get('Code', 'unknown')}"
            )
            failed.append(rejection)
        return failed

    def _send_one(self, rejection: Rejection, results: SendResults) -> list[Rejection]:
        try:
            response = self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=rejection.body,
                MessageAttributes=rejection.attributes(),
            )
        except (BotoCoreError, ClientError) as failure:
            results[rejection.source_message_id] = DeadLetterError(
                f"DLQ SendMessage failed: {_describe(failure)}"
            )
            return [rejection]
        results[rejection.source_message_id] = str(response["MessageId"])
        return []


def _chunks(rejections: Sequence[Rejection]) -> Iterator[list[Rejection]]:
    """Runs of at most 10 entries and 256 KiB; an entry larger than that on its own."""
    chunk: list[Rejection] = []
    size = 0
    for rejection in rejections:
        entry_size = rejection.size()
        if chunk and (len(chunk) == MAX_BATCH_ENTRIES or size + entry_size > MAX_BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(rejection)
        size += entry_size
    if chunk:
        yield chunk


def _describe(failure: Exception) -> str:
    if isinstance(failure, ClientError):
        return str(failure.response.get("Error", {}).get("Code", "ClientError"))
    return type(failure).__name__
