"""Write an execution environment's log stream the way Lambda does, to CloudWatch Logs.

`make logs`, the README's "where to look next" and any dashboard work the same locally and on
AWS only if the local runner leaves the same trail: one stream per execution environment named
`YYYY/MM/DD/[$LATEST]<32 hex>`, and around every invocation the platform lines of the function's
`LoggingConfig.LogFormat`. Text:

    INIT_START Runtime Version: python:3.12\tRuntime Version ARN: …      (cold start only)
    START RequestId: <id> Version: $LATEST
    <the function's own lines>
    END RequestId: <id>
    REPORT RequestId: <id>\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\t
    Max Memory Used: 71 MB\t[Init Duration: 412.50 ms\t][Status: error\tError Type: …]

JSON: one object per event, `{"time", "type": "platform.initStart" | "platform.start" |
"platform.report", "record": {…}}` (no END), the report's numbers under `record.metrics` and
its outcome in `record.status` (success, error, timeout).

Billed Duration is the duration rounded up to the millisecond; since August 2025 Lambda bills the
INIT phase of on-demand ZIP functions too, so a cold start's billed duration includes it.
"""

from __future__ import annotations

import contextlib
import json
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

# PutLogEvents limits: 10,000 events and 1,048,576 bytes (message bytes + 26 per event) per call.
MAX_EVENTS_PER_CALL = 10_000
MAX_BYTES_PER_CALL = 1_048_576
EVENT_OVERHEAD_BYTES = 26
MAX_EVENT_BYTES = 256 * 1024 - EVENT_OVERHEAD_BYTES


def stream_name(now: datetime, version: str = "$LATEST") -> str:
    """A fresh stream name in Lambda's format, for one execution environment."""
    return f"{now:%Y/%m/%d}/[{version}]{secrets.token_hex(16)}"


@dataclass(frozen=True)
class Report:
    """The numbers of one invocation's REPORT line."""

    request_id: str
    duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None = None
    status: str = "success"  # success, error or timeout
    error_type: str | None = None  # e.g. Runtime.OutOfMemory, when status is error

    @property
    def billed_ms(self) -> int:
        return math.ceil(self.duration_ms + (self.init_duration_ms or 0.0))

    def line(self) -> str:
        parts = [
            f"REPORT RequestId: {self.request_id}",
            f"Duration: {self.duration_ms:.2f} ms",
            f"Billed Duration: {self.billed_ms} ms",
            f"Memory Size: {self.memory_size_mb} MB",
            f"Max Memory Used: {self.max_memory_used_mb} MB",
        ]
        if self.init_duration_ms is not None:
            parts.append(f"Init Duration: {self.init_duration_ms:.2f} ms")
        if self.status != "success":
            parts.append(f"Status: {self.status}")
        if self.error_type:
            parts.append(f"Error Type: {self.error_type}")
        return "\t".join(parts) + "\t"

    def record(self) -> dict[str, Any]:
        """The `record` of the JSON format's platform.report event."""
        metrics: dict[str, Any] = {
            "durationMs": round(self.duration_ms, 2),
            "billedDurationMs": self.billed_ms,
            "memorySizeMB": self.memory_size_mb,
            "maxMemoryUsedMB": self.max_memory_used_mb,
        }
        if self.init_duration_ms is not None:
            metrics["initDurationMs"] = round(self.init_duration_ms, 2)
        record: dict[str, Any] = {
            "requestId": self.request_id,
            "metrics": metrics,
            "status": self.status,
        }
        if self.error_type:
            record["errorType"] = self.error_type
        return record


def start_line(request_id: str, version: str = "$LATEST") -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def init_start_line(runtime_version: str) -> str:
    return f"INIT_START Runtime Version: python:{runtime_version}\tRuntime Version ARN: local"


def platform_event(kind: str, record: dict[str, Any], at: datetime | None = None) -> str:
    """One JSON-format platform event, e.g. kind "start" gives type "platform.start"."""
    stamp = (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds")
    event = {"time": stamp.replace("+00:00", "Z"), "type": f"platform.{kind}", "record": record}
    return json.dumps(event, separators=(",", ":"))


@dataclass(frozen=True)
class Init:
    """What a cold start adds to the stream before START."""

    function_name: str
    function_version: str
    runtime_version: str  # e.g. "3.12"


def invocation_lines(
    log_format: str,
    report: Report,
    function_lines: Sequence[str],
    *,
    version: str = "$LATEST",
    init: Init | None = None,
    init_lines: Sequence[str] = (),
    started: datetime | None = None,
    ended: datetime | None = None,
) -> list[str]:
    """An invocation's part of the stream, in the function's log format (Text or JSON): on a
    cold start INIT_START and the init's own output come first. `started`/`ended` are the JSON
    events' `time` (default: now)."""
    if log_format.upper() == "JSON":
        before: list[str] = []
        if init is not None:
            init_start = {
                "initializationType": "on-demand",
                "phase": "init",
                "runtimeVersion": f"python:{init.runtime_version}",
                "runtimeVersionArn": "local",
                "functionName": init.function_name,
                "functionVersion": init.function_version,
            }
            before = [platform_event("initStart", init_start, started), *init_lines]
        start = platform_event(
            "start", {"requestId": report.request_id, "version": version}, started
        )
        report_event = platform_event("report", report.record(), ended)
        return [*before, start, *function_lines, report_event]
    before = [init_start_line(init.runtime_version), *init_lines] if init is not None else []
    return [
        *before,
        start_line(report.request_id, version),
        *function_lines,
        end_line(report.request_id),
        report.line(),
    ]


def stamped(
    lines: Sequence[str],
    function_lines: Sequence[str],
    function_times: Sequence[datetime],
    started: datetime,
    ended: datetime,
) -> list[tuple[str, datetime]]:
    """`invocation_lines` with a time each, for PutLogEvents: the function's lines their own
    (when known), what comes before them `started`, END and REPORT `ended`."""
    after = 2 if len(lines) > 1 and lines[-2].startswith("END RequestId: ") else 1
    first = len(lines) - after - len(function_lines)
    own = list(function_times) if len(function_times) == len(function_lines) else []
    times = [started] * first + (own or [ended] * len(function_lines)) + [ended] * after
    return list(zip(lines, times, strict=True))


class InvocationLike(Protocol):
    """The parts of event_source.Invocation the stream needs (no import: it imports us)."""

    @property
    def error(self) -> str | None: ...  # "Type: message"
    @property
    def timed_out(self) -> bool: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def max_memory_used_mb(self) -> int: ...
    @property
    def init_duration_ms(self) -> float | None: ...
    @property
    def log_lines(self) -> Sequence[str]: ...
    @property
    def init_log_lines(self) -> Sequence[str]: ...
    @property
    def log_times(self) -> Sequence[datetime]: ...


def invocation_events(
    invocation: InvocationLike,
    *,
    request_id: str,
    function_name: str,
    version: str,
    memory_size_mb: int,
    runtime_version: str,
    started: datetime,
    ended: datetime,
    log_format: str = "Text",
) -> list[tuple[str, datetime]]:
    """Everything one invocation adds to its environment's stream, each line with its time."""
    status = "timeout" if invocation.timed_out else "error" if invocation.error else "success"
    error_type = invocation.error.split(":", 1)[0] if invocation.error else None
    report = Report(
        request_id=request_id,
        duration_ms=invocation.duration_ms,
        memory_size_mb=memory_size_mb,
        max_memory_used_mb=invocation.max_memory_used_mb,
        init_duration_ms=invocation.init_duration_ms,
        status=status,
        error_type=error_type if status == "error" else None,
    )
    cold = invocation.init_duration_ms is not None
    lines = invocation_lines(
        log_format,
        report,
        invocation.log_lines,
        version=version,
        init=Init(function_name, version, runtime_version) if cold else None,
        init_lines=invocation.init_log_lines,
        started=started,
        ended=ended,
    )
    return stamped(lines, invocation.log_lines, invocation.log_times, started, ended)


def render(message: str) -> str:
    """A JSON-format platform event as its Text-format line (anything else unchanged), so that
    `make logs` reads both formats alike."""
    if not message.startswith('{"time"'):
        return message
    try:
        event = json.loads(message)
        kind, record = event["type"], event["record"]
    except (ValueError, KeyError, TypeError):
        return message
    if kind == "platform.start":
        return start_line(record["requestId"], record.get("version", "$LATEST"))
    if kind == "platform.initStart":
        return init_start_line(record.get("runtimeVersion", "").removeprefix("python:"))
    if kind == "platform.report":
        metrics = record.get("metrics", {})
        return Report(
            request_id=record["requestId"],
            duration_ms=float(metrics.get("durationMs", 0.0)),
            memory_size_mb=int(metrics.get("memorySizeMB", 0)),
            max_memory_used_mb=int(metrics.get("maxMemoryUsedMB", 0)),
            init_duration_ms=metrics.get("initDurationMs"),
            status=record.get("status", "success"),
            error_type=record.get("errorType"),
        ).line()
    return message


def epoch_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def chunks(events: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split events into PutLogEvents-sized calls, keeping their order."""
    calls: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for event in events:
        cost = len(event["message"].encode()) + EVENT_OVERHEAD_BYTES
        if current and (len(current) >= MAX_EVENTS_PER_CALL or size + cost > MAX_BYTES_PER_CALL):
            calls.append(current)
            current, size = [], 0
        current.append(event)
        size += cost
    if current:
        calls.append(current)
    return calls


class LogStream:
    """One execution environment's stream; lines are buffered and sent per invocation."""

    def __init__(self, logs_client: Any, group: str, name: str) -> None:
        self._client = logs_client
        self._group = group
        self.name = name
        self._pending: list[dict[str, Any]] = []
        self._created = False

    def add(self, message: str, at: datetime) -> None:
        """Queue one line (over-long lines are cut as Lambda cuts them, at 256 KB)."""
        text = message.rstrip("\n") or " "
        encoded = text.encode()
        if len(encoded) > MAX_EVENT_BYTES:
            text = encoded[:MAX_EVENT_BYTES].decode(errors="ignore")
        self._pending.append({"timestamp": epoch_ms(at), "message": text})

    def flush(self) -> None:
        """Send what is queued (creating the group and stream on first use, as Lambda does)."""
        if not self._pending:
            return
        if not self._created:
            self._ensure_stream()
        events = sorted(self._pending, key=lambda e: e["timestamp"])
        self._pending = []
        for call in chunks(events):
            self._client.put_log_events(
                logGroupName=self._group, logStreamName=self.name, logEvents=call
            )

    def _ensure_stream(self) -> None:
        errors = self._client.exceptions
        with contextlib.suppress(errors.ResourceAlreadyExistsException):
            self._client.create_log_group(logGroupName=self._group)
        with contextlib.suppress(errors.ResourceAlreadyExistsException):
            self._client.create_log_stream(logGroupName=self._group, logStreamName=self.name)
        self._created = True
