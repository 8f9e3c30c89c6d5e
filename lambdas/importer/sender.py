"""Send bodies to the registration queue with SendMessageBatch, several batches at a time.

One SendMessageBatch round-trip carries ten bodies, so a single thread would spend the import
waiting on the network; a small pool keeps a few batches in flight. In-flight work is bounded,
so memory does not grow with the file. Entries SQS failed on its side are retried with backoff;
an entry it refuses (SenderFault, or a whole call refused for its content) is reported back as
a rejected row. Anything else raises: the chunk fails and SQS redelivers it (rows it had sent
are sent again, which the handler's versioning absorbs).
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from importer.rows import RejectReason, Row

MAX_ENTRIES = 10
# SendMessageBatch's payload limit on queues with the 256 KiB MaximumMessageSize.
MAX_BATCH_BYTES = 256 * 1024
THREADS = 8
MAX_ATTEMPTS = 5
BACKOFF_BASE_S = 0.1
REQUEST_REFUSED = frozenset(
    {"InvalidParameterValue", "BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong"}
)


@dataclass
class BatchResult:
    sent: int = 0
    refused: list[Row] = field(default_factory=list)


class BodySender:
    """Collects rows into batches and sends them from a thread pool."""

    def __init__(self, sqs: Any, queue_url: str, threads: int = THREADS) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="send")
        self._max_in_flight = threads * 2
        self._in_flight: deque[Future[BatchResult]] = deque()
        self._batch: list[Row] = []
        self._batch_bytes = 0
        self.sent = 0
        self.refused: list[Row] = []

    def add(self, row: Row) -> None:
        assert row.body is not None
        size = len(row.body.encode())
        if self._batch and self._batch_bytes + size > MAX_BATCH_BYTES:
            self._submit()
        self._batch.append(row)
        self._batch_bytes += size
        if len(self._batch) == MAX_ENTRIES:
            self._submit()

    def flush(self) -> None:
        """Send what is pending and wait for every batch; raises the first send failure."""
        if self._batch:
            self._submit()
        while self._in_flight:
            self._collect(self._in_flight.popleft())

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _submit(self) -> None:
        while len(self._in_flight) >= self._max_in_flight:
            self._collect(self._in_flight.popleft())
        self._in_flight.append(self._pool.submit(self._send, self._batch))
        self._batch = []
        self._batch_bytes = 0

    def _collect(self, future: Future[BatchResult]) -> None:
        result = future.result()
        self.sent += result.sent
        self.refused += result.refused

    def _send(self, rows: list[Row]) -> BatchResult:
        result = BatchResult()
        pending = {str(row.line): row for row in rows}
        for attempt in range(MAX_ATTEMPTS):
            if not pending:
                return result
            if attempt:
                time.sleep(BACKOFF_BASE_S * 2 ** (attempt - 1))
            try:
                response = self._sqs.send_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=[{"Id": i, "MessageBody": r.body} for i, r in pending.items()],
                )
            except ClientError as err:
                code = err.response.get("Error", {}).get("Code", "")
                if code not in REQUEST_REFUSED:
                    raise
                if len(pending) == 1:
                    (row,) = pending.values()
                    result.refused.append(_refused(row, code))
                else:  # find the offender: every entry on its own
                    for row in pending.values():
                        alone = self._send([row])
                        result.sent += alone.sent
                        result.refused += alone.refused
                return result
            for entry in response.get("Successful", []):
                pending.pop(entry["Id"])
                result.sent += 1
            for entry in response.get("Failed", []):
                if entry.get("SenderFault"):
                    result.refused.append(_refused(pending.pop(entry["Id"]), entry.get("Code", "")))
        if pending:
            raise RuntimeError(
                f"SQS kept failing {len(pending)} entries after {MAX_ATTEMPTS} attempts"
            )
        return result


def _refused(row: Row, code: str) -> Row:
    return Row(
        row.line,
        row.end_line,
        row.end_offset,
        reason=RejectReason.REFUSED_BY_SQS,
        detail=f"SendMessageBatch refused the body ({code})",
    )
