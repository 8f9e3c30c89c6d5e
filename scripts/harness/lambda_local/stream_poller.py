"""The local stand-in for Lambda's DynamoDB Streams poller: per shard, in order, one batch in
flight, with retries, bisection, record age, an on-failure destination and tumbling windows.

Every rule comes from the mapping (AWS's documented semantics for stream sources):

- one poller per shard reads it in sequence order from the mapping's StartingPosition
  (TRIM_HORIZON or LATEST), four times a second, and invokes with up to BatchSize records,
  waiting up to MaximumBatchingWindowInSeconds for a full batch; the event fits in 6 MB;
- a function error retries the batch; with BisectBatchOnFunctionError the failing batch is split
  in two and each half retried on its own (a split is not a retry), which isolates a poison
  record; with ReportBatchItemFailures the reported sequence number is the checkpoint: the
  records before it are done and the batch is retried from it (counted as a retry);
- a batch that has failed MaximumRetryAttempts times (-1: until it expires), or whose oldest
  record is older than MaximumRecordAgeInSeconds (-1: never), is skipped: its metadata (shard,
  first/last sequence number, condition) goes to the on-failure destination (SQS), and the
  shard moves on;
- with TumblingWindowInSeconds, records are grouped by the window of their creation time; each
  invoke carries the window, the state the previous invoke of that window returned and the
  shard id, and the window ends with a final invoke (`isFinalInvokeForWindow`, no records) when
  its end has passed, or early (`isWindowTerminatedEarly`) when the shard ends.

Checkpoints live in memory: a restarted runner starts again from StartingPosition (the lake
writer's object names make a replayed batch overwrite itself).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scripts.harness.cli import UserError
from scripts.harness.lambda_local import filters
from scripts.harness.lambda_local.event_source import PollerContext
from scripts.harness.lambda_local.invoker import Invoked, Invoker

MAX_EVENT_BYTES = 6 * 1024 * 1024
GET_RECORDS_MAX = 1000
POLL_INTERVAL_S = 0.25  # Lambda reads each shard about four times a second
SHARD_REFRESH_S = 10.0
RETRY_BACKOFF_S = 0.5
STARTING_POSITIONS = ("TRIM_HORIZON", "LATEST")
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


def refusal(context: PollerContext) -> str | None:
    """What this poller cannot emulate faithfully for the mapping, or None."""
    mapping = context.mapping
    where = f"mapping {mapping.uuid} ({mapping.event_source_arn})"
    if (mapping.parallelization_factor or 1) > 1:
        return (
            f"{where}: ParallelizationFactor {mapping.parallelization_factor} (concurrent "
            "batches per shard, ordered by key) is not implemented; use 1"
        )
    if mapping.starting_position not in STARTING_POSITIONS:
        return (
            f"{where}: StartingPosition {mapping.starting_position} is not emulated "
            f"(only {' or '.join(STARTING_POSITIONS)})"
        )
    destination = mapping.on_failure_destination
    if destination and destination.split(":")[2] != "sqs":
        return f"{where}: on-failure destination {destination}: only SQS queues are emulated"
    return None


def event_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda puts it in the event (epoch seconds, the stream's ARN)."""
    stream = dict(record["dynamodb"])
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        stream["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": stream, "eventSourceARN": stream_arn}


def sequence(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def created_at(record: Mapping[str, Any]) -> float:
    return float(record["dynamodb"].get("ApproximateCreationDateTime") or time.time())


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Window:
    """A tumbling window of one shard and the state its invokes carry."""

    start: float
    end: float
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, at: float, seconds: int) -> Window:
        start = at - at % seconds
        return cls(start, start + seconds)

    def event(self, shard_id: str, stream_arn: str, *, final: bool, early: bool) -> dict[str, Any]:
        return {
            "window": {"start": iso(self.start), "end": iso(self.end)},
            "state": self.state,
            "shardId": shard_id,
            "eventSourceARN": stream_arn,
            "isFinalInvokeForWindow": final,
            "isWindowTerminatedEarly": early,
        }


@dataclass(frozen=True)
class Outcome:
    ok: bool
    failed_from: str | None = None  # ReportBatchItemFailures: the checkpoint
    state: dict[str, Any] | None = None
    error: str | None = None


def outcome(invoked: Invoked, response_types: Sequence[str]) -> Outcome:
    """Lambda's reading of a stream invoke: error, checkpoint, or done (and the window state)."""
    invocation = invoked.invocation
    if invocation.error is not None:
        return Outcome(False, error=invocation.error)
    response = invocation.response if isinstance(invocation.response, dict) else {}
    state = response.get("state") if isinstance(response.get("state"), dict) else None
    failures = (
        response.get("batchItemFailures") if REPORT_BATCH_ITEM_FAILURES in response_types else None
    )
    if failures:
        identifiers = [f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures]
        if not all(isinstance(i, str) and i.isdigit() for i in identifiers):
            return Outcome(False, error="invalid batchItemFailures (treated as a function error)")
        return Outcome(False, failed_from=min(identifiers, key=int), state=state)
    return Outcome(True, state=state)


class ShardPoller:
    """Reads one shard in order and delivers its batches one at a time."""

    def __init__(
        self,
        context: PollerContext,
        stream_arn: str,
        shard_id: str,
        parent: ShardPoller | None = None,
    ) -> None:
        self._context = context
        self._parent = parent
        self._stream_arn = stream_arn
        self.shard_id = shard_id
        self._streams = context.session.client("dynamodbstreams")
        self._sqs = context.session.client("sqs")
        self._patterns = filters.parse(context.mapping.filter_criteria)
        self._invoker = Invoker(context)
        self._pending: deque[dict[str, Any]] = deque()
        self._window: Window | None = None
        self.busy = threading.Event()
        self.ended = False

    def run(self) -> None:
        context = self._context
        # A child shard (after a split) is read only once its parent has been read to its end.
        while self._parent is not None and not self._parent.ended:
            if context.stop.wait(POLL_INTERVAL_S):
                return
        iterator: str | None = self._streams.get_shard_iterator(
            StreamArn=self._stream_arn,
            ShardId=self.shard_id,
            ShardIteratorType=context.mapping.starting_position or "LATEST",
        )["ShardIterator"]
        first_seen: float | None = None
        while not context.stop.is_set():
            try:
                if iterator is not None and len(self._pending) < context.mapping.batch_size:
                    response = self._streams.get_records(
                        ShardIterator=iterator, Limit=GET_RECORDS_MAX
                    )
                    iterator = response.get("NextShardIterator")
                    self._pending.extend(
                        event_record(r, self._stream_arn) for r in response.get("Records", [])
                    )
                if self._pending and first_seen is None:
                    first_seen = time.monotonic()
                if self._close_window_if_due(shard_ended=iterator is None):
                    continue
                full = len(self._pending) >= context.mapping.batch_size
                waited = first_seen is not None and (
                    time.monotonic() - first_seen >= context.mapping.batching_window_s
                )
                if self._pending and (full or waited or iterator is None):
                    self.busy.set()
                    self._deliver(self._take())
                    first_seen = None
                elif iterator is None:
                    self.ended = True
                    return
                else:
                    context.stop.wait(POLL_INTERVAL_S)
            except Exception:
                context.stats.add(poll_errors=1)
                traceback.print_exc(file=sys.stderr)
                context.stop.wait(RETRY_BACKOFF_S)
            finally:
                self.busy.clear()

    def close(self) -> None:
        self._invoker.close()

    def _take(self) -> list[dict[str, Any]]:
        """The next batch: up to BatchSize records of one window that fit in 6 MB."""
        mapping = self._context.mapping
        batch: list[dict[str, Any]] = []
        size = len('{"Records": []}')
        window_s = mapping.tumbling_window_s
        if window_s and self._window is None:
            self._window = Window.of(created_at(self._pending[0]), window_s)
        while self._pending and len(batch) < mapping.batch_size:
            record = self._pending[0]
            if self._window is not None and created_at(record) >= self._window.end:
                break
            cost = len(json.dumps(record)) + 2
            if batch and size + cost > MAX_EVENT_BYTES:
                break
            batch.append(self._pending.popleft())
            size += cost
        return batch

    def _close_window_if_due(self, *, shard_ended: bool) -> bool:
        """The final invoke of the current window, when its end has passed or the shard ended."""
        window = self._window
        if window is None:
            return False
        next_record = self._pending[0] if self._pending else None
        past = time.time() >= window.end and (
            next_record is None or created_at(next_record) >= window.end
        )
        early = shard_ended and next_record is None and not past
        if not (past or early):
            return False
        self.busy.set()
        event = {
            "Records": [],
            **window.event(self.shard_id, self._stream_arn, final=True, early=early),
        }
        self._run_with_retries([], lambda _: event)
        self._window = None
        self._context.stats.add(windows_closed=1)
        return True

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        admitted = [r for r in records if filters.matches_any(self._patterns, r)]
        if len(admitted) < len(records):
            self._context.stats.add(filtered=len(records) - len(admitted))
        if not admitted:
            return
        window = self._window

        def event(part: list[dict[str, Any]]) -> dict[str, Any]:
            if window is None:
                return {"Records": part}
            return {
                "Records": part,
                **window.event(self.shard_id, self._stream_arn, final=False, early=False),
            }

        self._run_with_retries(admitted, event)

    def _run_with_retries(self, records: list[dict[str, Any]], event_for: Any) -> None:
        """Invoke until every part succeeded or was handed to the on-failure destination."""
        mapping = self._context.mapping
        parts: list[list[dict[str, Any]]] = [records]
        attempts = 0
        while parts and not self._context.stop.is_set():
            part = parts[0]
            if self._too_old(part):
                self._on_failure(part, "RecordAgeExceeded", attempts)
                parts.pop(0)
                attempts = 0
                continue
            invoked = self._invoker.invoke(event_for(part))
            result = outcome(invoked, mapping.response_types)
            self._context.stats.add(
                invocations=1,
                received=len(part),
                function_errors=int(invoked.invocation.error is not None),
            )
            if result.state is not None and self._window is not None:
                self._window.state = result.state
            if result.ok:
                parts.pop(0)
                attempts = 0
                continue
            if result.failed_from is not None:
                done = [r for r in part if int(sequence(r)) < int(result.failed_from)]
                part = parts[0] = part[len(done) :] or part
            elif mapping.bisect_on_error and len(part) > 1:
                half = len(part) // 2
                parts[0:1] = [part[:half], part[half:]]
                self._context.stats.add(bisections=1)
                continue
            attempts += 1
            self._context.stats.add(retries=1)
            limit = mapping.maximum_retry_attempts
            if limit is not None and limit >= 0 and attempts > limit:
                self._on_failure(part, "RetryAttemptsExhausted", attempts, invoked, result)
                parts.pop(0)
                attempts = 0
                continue
            self._context.stop.wait(RETRY_BACKOFF_S)

    def _too_old(self, part: list[dict[str, Any]]) -> bool:
        limit = self._context.mapping.maximum_record_age_s
        if not part or limit is None or limit < 0:
            return False
        return time.time() - created_at(part[0]) > limit

    def _on_failure(
        self,
        part: list[dict[str, Any]],
        condition: str,
        attempts: int,
        invoked: Invoked | None = None,
        result: Outcome | None = None,
    ) -> None:
        """Skip `part`: its metadata (never its records) goes to the on-failure destination."""
        self._context.stats.add(dead_lettered=len(part))
        destination = self._context.mapping.on_failure_destination
        if not part or not destination:
            return
        _, _, _, _, account, name = destination.split(":")
        url = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        function = invoked.function if invoked else self._context.target.function
        metadata = {
            "requestContext": {
                "requestId": invoked.request_id if invoked else None,
                "functionArn": function.arn,
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": function.version,
                "functionError": "Unhandled" if result and result.error else None,
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": self.shard_id,
                "startSequenceNumber": sequence(part[0]),
                "endSequenceNumber": sequence(part[-1]),
                "approximateArrivalOfFirstRecord": iso(created_at(part[0])),
                "approximateArrivalOfLastRecord": iso(created_at(part[-1])),
                "batchSize": len(part),
                "streamArn": self._stream_arn,
            },
        }
        self._sqs.send_message(QueueUrl=url, MessageBody=json.dumps(metadata))


class DynamoDBStreamSource:
    """All shard pollers of one stream mapping (new shards are picked up as they appear)."""

    def __init__(self, context: PollerContext) -> None:
        problem = refusal(context)
        if problem:
            raise UserError(problem)
        self.context = context
        self._streams = context.session.client("dynamodbstreams")
        self._lock = threading.Lock()
        self._pollers: dict[str, ShardPoller] = {}

    def start(self) -> None:
        self._refresh()
        threading.Thread(target=self._watch_shards, name="stream-shards", daemon=True).start()

    def busy(self) -> bool:
        with self._lock:
            return any(poller.busy.is_set() for poller in self._pollers.values())

    def close(self) -> None:
        with self._lock:
            pollers = list(self._pollers.values())
        for poller in pollers:
            poller.close()

    def status(self) -> dict[str, Any]:
        mapping, target = self.context.mapping, self.context.target
        with self._lock:
            shards = sorted(self._pollers)
        return {
            "uuid": mapping.uuid,
            "source": mapping.event_source_arn,
            "function": target.invoked_arn,
            "versions": target.routing(),
            "batch_size": mapping.batch_size,
            "batching_window_s": mapping.batching_window_s,
            "function_response_types": list(mapping.response_types),
            "filters": len(filters.parse(mapping.filter_criteria)),
            "starting_position": mapping.starting_position,
            "bisect_on_error": mapping.bisect_on_error,
            "maximum_retry_attempts": mapping.maximum_retry_attempts,
            "maximum_record_age_s": mapping.maximum_record_age_s,
            "on_failure_destination": mapping.on_failure_destination,
            "tumbling_window_s": mapping.tumbling_window_s,
            "shards": shards,
            "maximum_concurrency": len(shards),
        }

    def _watch_shards(self) -> None:
        while not self.context.stop.wait(SHARD_REFRESH_S):
            try:
                self._refresh()
            except Exception:
                traceback.print_exc(file=sys.stderr)

    def _refresh(self) -> None:
        """Start a poller for every shard not polled yet (DescribeStream, paginated)."""
        arn = self.context.mapping.event_source_arn
        shards: list[dict[str, Any]] = []
        start: dict[str, str] = {}
        while True:
            description = self._streams.describe_stream(StreamArn=arn, **start)["StreamDescription"]
            shards += description.get("Shards", [])
            last = description.get("LastEvaluatedShardId")
            if not last:
                break
            start = {"ExclusiveStartShardId": last}
        for shard in shards:
            with self._lock:
                if shard["ShardId"] in self._pollers:
                    continue
                poller = self._pollers[shard["ShardId"]] = ShardPoller(
                    self.context,
                    arn,
                    shard["ShardId"],
                    self._pollers.get(shard.get("ParentShardId", "")),
                )
            threading.Thread(
                target=poller.run, name=f"stream-{shard['ShardId'][-8:]}", daemon=True
            ).start()
