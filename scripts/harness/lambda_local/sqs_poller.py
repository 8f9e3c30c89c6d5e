"""The local stand-in for Lambda's SQS poller: receive, filter, invoke, delete what succeeded.

Every rule comes from the deployed mapping, function and queue:

- each poller long-polls (WaitTimeSeconds 20, like Lambda) with MaxNumberOfMessages up to the
  batch size (at most 10 per call), AttributeNames All, and keeps gathering until the batch
  size or the batching window; a message that would push the event over Lambda's 6 MB
  invocation payload is handed back at once (visibility 0) for the next batch;
- messages stay hidden for the queue's own visibility timeout (the receive does not override it);
- records that match none of the mapping's FilterCriteria are deleted without an invoke;
- the batch runs in an execution environment of the version the target picks for it (weighted
  alias routing), one environment per version per poller;
- `batch_result.settle` decides what to delete; failures are left alone, so they come back after
  the visibility timeout and the queue's redrive policy moves them to the DLQ in the end;
- pollers scale as Lambda's do (scaling.py): 5 at first, more while batches come back full, up
  to the mapping's MaximumConcurrency, the function's reserved concurrency and the local cap;
- START/END/REPORT and the function's own lines go to the version's log group, one stream per
  execution environment; Invocations/Errors/Duration go to CloudWatch (metrics.py).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scripts.harness.cli import UserError
from scripts.harness.lambda_local import batch_result, filters, sqs_event
from scripts.harness.lambda_local.config import FunctionConfig, MappingConfig
from scripts.harness.lambda_local.event_source import (
    PollerContext,
)
from scripts.harness.lambda_local.invoker import Invoker
from scripts.harness.lambda_local.scaling import Scaler

# Lambda's synchronous invocation payload limit, which the batch's event must fit.
MAX_EVENT_BYTES = 6 * 1024 * 1024
EVENT_OVERHEAD_BYTES = len('{"Records": []}')
DELETE_BATCH_MAX = 10
POLL_ERROR_BACKOFF_S = 1.0
# Without MaximumConcurrency an SQS mapping scales to the account's concurrency (1,000 by
# default); the local cap is what bounds it on a laptop.
UNBOUNDED_CONCURRENCY = 1000


@dataclass(frozen=True)
class QueueSettings:
    url: str
    arn: str
    visibility_timeout_s: int


def read_queue(sqs: Any, queue_arn: str) -> QueueSettings:
    """The queue a mapping polls, found by its ARN."""
    _, _, _, _, account, name = queue_arn.split(":")
    url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    return QueueSettings(url, queue_arn, int(attributes["Attributes"]["VisibilityTimeout"]))


def maximum_concurrency(
    mapping: MappingConfig, function: FunctionConfig, local_cap: int | None
) -> int:
    """Concurrent batches at most: the tightest of the mapping's MaximumConcurrency, the
    function's reserved concurrency and the local cap."""
    limits = [
        limit
        for limit in (mapping.maximum_concurrency, function.reserved_concurrency, local_cap)
        if limit is not None
    ]
    return max(1, min(limits)) if limits else UNBOUNDED_CONCURRENCY


def refusal(mapping: MappingConfig) -> str | None:
    """What this poller cannot emulate faithfully for the mapping, or None."""
    if mapping.event_source_arn.endswith(".fifo"):
        return (
            f"mapping {mapping.uuid} polls FIFO queue {mapping.event_source_arn}: the runner does "
            "not implement Lambda's per-message-group ordering"
        )
    return None


def event_size(record: Mapping[str, Any]) -> int:
    """Bytes one record adds to the invocation payload (with its separator)."""
    return len(json.dumps(record)) + 2


def gather(
    sqs: Any,
    queue: QueueSettings,
    mapping: MappingConfig,
    stop: threading.Event,
    wait_s: int,
) -> list[dict[str, Any]]:
    """One batch, gathered the way Lambda's poller does (may be empty after a long poll)."""
    batch: list[dict[str, Any]] = []
    size = EVENT_OVERHEAD_BYTES
    window_ends: float | None = None
    while len(batch) < mapping.batch_size and not stop.is_set():
        if window_ends is None:
            wait = wait_s
        else:
            remaining = window_ends - time.monotonic()
            if remaining <= 0:
                break
            wait = min(wait_s, int(remaining))
        messages = sqs.receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=min(mapping.receive_max, mapping.batch_size - len(batch)),
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages and not batch:
            return batch
        overflow: list[dict[str, Any]] = []
        for message in messages:
            cost = event_size(sqs_event.record(message, queue.arn))
            if overflow or (batch and size + cost > MAX_EVENT_BYTES):
                overflow.append(message)
            else:
                batch.append(message)
                size += cost
        if overflow:
            release(sqs, queue.url, overflow)
            break
        if mapping.batching_window_s == 0:
            break
        if window_ends is None:
            window_ends = time.monotonic() + mapping.batching_window_s
    return batch


def release(sqs: Any, queue_url: str, messages: Sequence[Mapping[str, Any]]) -> None:
    """Make received messages visible again now (they go to the next batch)."""
    for start in range(0, len(messages), DELETE_BATCH_MAX):
        chunk = messages[start : start + DELETE_BATCH_MAX]
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(chunk)
            ],
        )


def delete(sqs: Any, queue_url: str, receipts: Mapping[str, str]) -> int:
    """DeleteMessageBatch the given {messageId: receiptHandle}; returns how many were deleted.

    A delete can fail when the invocation outlived the visibility timeout (the receipt handle
    is stale); Lambda then sees the message again, and so does this runner.
    """
    deleted = 0
    items = list(receipts.items())
    for start in range(0, len(items), DELETE_BATCH_MAX):
        chunk = items[start : start + DELETE_BATCH_MAX]
        response = sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": handle} for i, (_, handle) in enumerate(chunk)
            ],
        )
        deleted += len(response.get("Successful", []))
    return deleted


class SqsPoller:
    """One concurrency slot: gathers a batch, invokes, settles; its environments are per version
    and created on first use."""

    def __init__(self, context: PollerContext, queue: QueueSettings, scaler: Scaler) -> None:
        self._context = context
        self._queue = queue
        self._scaler = scaler
        self._sqs = context.session.client("sqs")
        self._patterns = filters.parse(context.mapping.filter_criteria)
        self._invoker = Invoker(context)
        self.busy = threading.Event()
        self.on_full_batch: Callable[[], None] | None = None  # set by SqsEventSource

    def run(self) -> None:
        """Poll until stopped or retired. Any error (endpoint down, a bug here) is printed,
        counted and retried after a pause: one bad batch must not silently cost a slot."""
        context = self._context
        while not context.stop.is_set():
            try:
                messages = gather(
                    self._sqs, self._queue, context.mapping, context.stop, context.wait_s
                )
                if not messages:
                    if self._scaler.try_retire():
                        self.close()
                        return
                    continue
                # Stopping: leave a late batch to its visibility timeout rather than start a
                # worker that nobody would stop.
                if context.stop.is_set():
                    continue
                self.busy.set()
                settlement = self.process(messages)
                # Lambda adds pollers while the queue keeps batches full, but not while
                # invocations fail ("throttles function scaling when invocation errors occur").
                full = len(messages) >= context.mapping.batch_size
                if full and not settlement.whole_batch_failed and self.on_full_batch:
                    self.on_full_batch()
            except Exception:
                if context.stop.is_set():
                    break  # the endpoint may already be gone while stopping
                context.stats.add(poll_errors=1)
                traceback.print_exc(file=sys.stderr)
                context.stop.wait(POLL_ERROR_BACKOFF_S)
            finally:
                self.busy.clear()
        self.close()

    def process(self, messages: Sequence[Mapping[str, Any]]) -> batch_result.Settlement:
        """Filter, invoke one version on the batch, log like Lambda, delete what succeeded."""
        context = self._context
        receipts = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
        records = [sqs_event.record(m, self._queue.arn) for m in messages]
        admitted = [
            r
            for r in records
            if not self._patterns or filters.matches_any(self._patterns, filters.sqs_view(r))
        ]
        admitted_ids = {r["messageId"] for r in admitted}
        dropped = [r["messageId"] for r in records if r["messageId"] not in admitted_ids]
        if dropped:
            deleted = delete(self._sqs, self._queue.url, {i: receipts[i] for i in dropped})
            context.stats.add(received=len(dropped), filtered=len(dropped), deleted=deleted)
        if not admitted:
            return batch_result.Settlement(delete=tuple(dropped), retry=(), reason="filtered")

        ids = [r["messageId"] for r in admitted]
        invoked = self._invoker.invoke({"Records": admitted})
        function, invocation = invoked.function, invoked.invocation
        settlement = batch_result.settle(
            ids,
            function_error=invocation.error,
            response=invocation.response,
            response_types=context.mapping.response_types,
        )
        deleted = delete(self._sqs, self._queue.url, {i: receipts[i] for i in settlement.delete})
        context.stats.add(
            invocations=1,
            received=len(admitted),
            deleted=deleted,
            retried=len(settlement.retry),
            function_errors=int(invocation.error is not None),
            whole_batch_failures=int(settlement.whole_batch_failed),
            **{f"invocations_version_{function.version}": 1},
        )
        return settlement

    def close(self) -> None:
        self._invoker.close()


class SqsEventSource:
    """All pollers of one SQS mapping, scaled like Lambda's."""

    def __init__(self, context: PollerContext) -> None:
        problem = refusal(context.mapping)
        if problem:
            raise UserError(problem)
        self.context = context
        self.queue = read_queue(context.session.client("sqs"), context.mapping.event_source_arn)
        limit = maximum_concurrency(context.mapping, context.target.function, context.local_cap)
        self.scaler = Scaler(limit)
        self._lock = threading.Lock()
        self._pollers: list[SqsPoller] = []

    def start(self) -> None:
        for _ in range(self.scaler.start_initial()):
            self._spawn()

    def grow(self) -> None:
        """A poller got a full batch: add one if Lambda's scaling rate and the limits allow."""
        if self.scaler.try_grow():
            self._spawn()

    def busy(self) -> bool:
        with self._lock:
            return any(poller.busy.is_set() for poller in self._pollers)

    def close(self) -> None:
        with self._lock:
            pollers = list(self._pollers)
        for poller in pollers:
            poller.close()

    def status(self) -> dict[str, Any]:
        mapping, target = self.context.mapping, self.context.target
        return {
            "uuid": mapping.uuid,
            "source": mapping.event_source_arn,
            "queue_url": self.queue.url,
            "visibility_timeout_s": self.queue.visibility_timeout_s,
            "function": target.invoked_arn,
            "versions": target.routing(),
            "batch_size": mapping.batch_size,
            "batching_window_s": mapping.batching_window_s,
            "function_response_types": list(mapping.response_types),
            "filters": len(filters.parse(mapping.filter_criteria)),
            "maximum_concurrency": self.scaler.maximum,
            "pollers": self.scaler.active,
            "peak_pollers": self.scaler.peak,
        }

    def _spawn(self) -> SqsPoller:
        poller = SqsPoller(self.context, self.queue, self.scaler)
        poller.on_full_batch = self.grow
        with self._lock:
            index = len(self._pollers)
            self._pollers.append(poller)
        threading.Thread(
            target=poller.run, name=f"sqs-{self.context.mapping.uuid[:8]}-{index}", daemon=True
        ).start()
        return poller
