"""The local stand-in for Lambda's SQS poller: receive, batch, invoke, delete what succeeded.

moto stores the event source mapping but cannot run the code (it needs Docker), and an enabled
mapping makes moto consume the queue itself; so the local profile deploys the mapping disabled
and this module does what the Lambda service would, reading every setting from the deployed
mapping, function and queue:

- each poller long-polls (WaitTimeSeconds 20, like Lambda) with MaxNumberOfMessages up to the
  batch size (at most 10 per call), AttributeNames All (SentTimestamp, ApproximateReceiveCount),
  and keeps gathering until the batch size, the batching window or the 6 MB payload limit;
- messages stay hidden for the queue's own visibility timeout (the receive does not override it);
- the batch becomes an SQS event and runs in the poller's execution environment; there is one
  poller per concurrency slot, so at most `concurrency` invocations run at once;
- `batch_result.settle` decides what to delete; failures are left alone, so they come back after
  the visibility timeout and the queue's redrive policy moves them to the DLQ in the end;
- START/END/REPORT and the function's own lines go to the function's log group, one stream per
  execution environment.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from scripts.harness.lambda_local import batch_result, logs, sqs_event
from scripts.harness.lambda_local.config import FunctionConfig, MappingConfig

LAMBDA_LONG_POLL_S = 20
# Stop gathering at half of Lambda's 6 MB invocation payload: the receive that crossed it
# (10 messages of up to 256 KB) must still fit.
GATHER_PAYLOAD_LIMIT = 3 * 1024 * 1024
DELETE_BATCH_MAX = 10
POLL_ERROR_BACKOFF_S = 1.0


@dataclass(frozen=True)
class Invocation:
    """What an execution environment reports about one invoke."""

    response: Any
    error: str | None  # function error, timeout or crash: the whole batch failed
    log_lines: Sequence[str]  # the function's own output (and the runtime's timeout line)
    duration_ms: float
    max_memory_used_mb: int
    init_duration_ms: float | None = None  # set on a cold start
    timed_out: bool = False
    init_log_lines: Sequence[str] = ()  # the init's output (goes before START)
    log_times: Sequence[datetime] = ()  # when each of log_lines was printed, if known


class ExecutionEnvironment(Protocol):
    """One warm copy of the function (a worker process), reused across invocations."""

    def invoke(self, event: Mapping[str, Any], request_id: str) -> Invocation: ...

    def close(self) -> None: ...


EnvironmentFactory = Callable[[], ExecutionEnvironment]
LogStreamFactory = Callable[[], logs.LogStream]


@dataclass(frozen=True)
class QueueSettings:
    url: str
    arn: str
    visibility_timeout_s: int


def read_queue(sqs: Any, queue_url: str) -> QueueSettings:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn", "VisibilityTimeout"]
    )["Attributes"]
    return QueueSettings(queue_url, attributes["QueueArn"], int(attributes["VisibilityTimeout"]))


class Stats:
    """Counters shared by the pollers of one runner (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, **increments: int) -> None:
        with self._lock:
            self._counts.update(increments)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


def gather(
    sqs: Any,
    queue: QueueSettings,
    mapping: MappingConfig,
    stop: threading.Event,
    wait_s: int = LAMBDA_LONG_POLL_S,
) -> list[dict[str, Any]]:
    """One batch, gathered the way Lambda's poller does (may be empty after a long poll)."""
    batch: list[dict[str, Any]] = []
    payload = 0
    window_ends: float | None = None
    while len(batch) < mapping.batch_size and not stop.is_set():
        if window_ends is None:
            wait = wait_s
        else:
            remaining = window_ends - time.monotonic()
            if remaining <= 0:
                break
            wait = min(wait_s, int(remaining))
        response = sqs.receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=min(mapping.receive_max, mapping.batch_size - len(batch)),
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages and not batch:
            return batch
        batch += messages
        payload += sum(len(m["Body"].encode()) for m in messages)
        if mapping.batching_window_s == 0 or payload >= GATHER_PAYLOAD_LIMIT:
            break
        if window_ends is None:
            window_ends = time.monotonic() + mapping.batching_window_s
    return batch


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


class Poller:
    """One concurrency slot: its own execution environment and log stream, created lazily."""

    def __init__(
        self,
        *,
        sqs: Any,
        queue: QueueSettings,
        mapping: MappingConfig,
        function: FunctionConfig,
        new_environment: EnvironmentFactory,
        new_log_stream: LogStreamFactory,
        stats: Stats,
        stop: threading.Event,
        wait_s: int = LAMBDA_LONG_POLL_S,
    ) -> None:
        self._sqs = sqs
        self._queue = queue
        self._mapping = mapping
        self._function = function
        self._new_environment = new_environment
        self._new_log_stream = new_log_stream
        self._stats = stats
        self._stop = stop
        self._wait_s = wait_s
        self._environment: ExecutionEnvironment | None = None
        self._log_stream: logs.LogStream | None = None
        self.busy = threading.Event()

    def run(self) -> None:
        """Poll until stopped. Any error (endpoint down, a bug here) is printed, counted and
        retried after a pause: one bad batch must not silently cost a concurrency slot."""
        while not self._stop.is_set():
            try:
                messages = gather(self._sqs, self._queue, self._mapping, self._stop, self._wait_s)
                # Stopping: leave a late batch to its visibility timeout rather than start a
                # worker that nobody would stop.
                if messages and not self._stop.is_set():
                    self.busy.set()
                    self.process(messages)
            except Exception:
                self._stats.add(poll_errors=1)
                traceback.print_exc(file=sys.stderr)
                self._stop.wait(POLL_ERROR_BACKOFF_S)
            finally:
                self.busy.clear()

    def process(self, messages: Sequence[Mapping[str, Any]]) -> batch_result.Settlement:
        """Invoke on one batch, log like Lambda, delete what the settlement says."""
        request_id = str(uuid.uuid4())
        ids = [m["MessageId"] for m in messages]
        started = datetime.now(UTC)
        environment = self._ensure_environment()
        invocation = environment.invoke(sqs_event.event(messages, self._queue.arn), request_id)
        self._log(request_id, started, invocation)
        if invocation.timed_out:
            # Lambda replaces an environment it had to stop: a new one, a new log stream.
            self._discard_environment()
        settlement = batch_result.settle(
            ids,
            function_error=invocation.error,
            response=invocation.response,
            response_types=self._mapping.response_types,
        )
        receipts = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
        deleted = delete(self._sqs, self._queue.url, {i: receipts[i] for i in settlement.delete})
        self._stats.add(
            invocations=1,
            received=len(messages),
            deleted=deleted,
            retried=len(settlement.retry),
            function_errors=int(invocation.error is not None),
            whole_batch_failures=int(settlement.whole_batch_failed),
        )
        return settlement

    def close(self) -> None:
        self._discard_environment()

    def _ensure_environment(self) -> ExecutionEnvironment:
        if self._environment is None:
            self._environment = self._new_environment()
            self._log_stream = self._new_log_stream()
            self._stats.add(cold_starts=1)
        return self._environment

    def _discard_environment(self) -> None:
        if self._environment is not None:
            self._environment.close()
        self._environment = None
        self._log_stream = None

    def _log(self, request_id: str, started: datetime, invocation: Invocation) -> None:
        stream = self._log_stream
        if stream is None:
            return
        ended = datetime.now(UTC)
        stream.add(logs.start_line(request_id, self._function.version), started)
        for line in invocation.log_lines:
            stream.add(line, ended)
        stream.add(logs.end_line(request_id), ended)
        report = logs.Report(
            request_id=request_id,
            duration_ms=invocation.duration_ms,
            memory_size_mb=self._function.memory_mb,
            max_memory_used_mb=invocation.max_memory_used_mb,
            init_duration_ms=invocation.init_duration_ms,
        )
        stream.add(report.line(), ended)
        stream.flush()


def concurrency(mapping: MappingConfig, function: FunctionConfig, local_cap: int | None) -> int:
    """Execution environments to run: the tightest of the mapping's MaximumConcurrency, the
    function's reserved concurrency and the local cap (Lambda's own default would be up to
    1,250 pollers, which a laptop cannot mean)."""
    limits = [
        limit
        for limit in (mapping.maximum_concurrency, function.reserved_concurrency, local_cap)
        if limit is not None
    ]
    return max(1, min(limits)) if limits else 1
