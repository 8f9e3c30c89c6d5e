"""One poller's invokes, whatever the source type: a warm environment per version, Lambda's
START/END/REPORT in that version's log stream, the per-version metrics, and the metrics the
function's own lines embed (EMF, extracted as CloudWatch Logs would: emf.py).

A poller owns one `Invoker`; the invoker picks the version for each batch by the target's
weights, starts that version's environment on first use (a cold start), replaces an environment
that timed out (Lambda does), and records Invocations/Errors/Duration.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scripts.harness.lambda_local import logs, runtime
from scripts.harness.lambda_local.config import FunctionConfig
from scripts.harness.lambda_local.emf import EmfMetrics
from scripts.harness.lambda_local.event_source import (
    ExecutionEnvironment,
    Invocation,
    PollerContext,
)


@dataclass
class _Warm:
    environment: ExecutionEnvironment
    stream: logs.LogStream


@dataclass(frozen=True)
class Invoked:
    function: FunctionConfig  # the version that ran the batch
    request_id: str
    invocation: Invocation


class Invoker:
    def __init__(self, context: PollerContext) -> None:
        self._context = context
        self._logs = context.session.client("logs")
        self._warm: dict[str, _Warm] = {}

    def invoke(self, event: Mapping[str, Any]) -> Invoked:
        context = self._context
        function = context.target.pick(context.rng)
        request_id = str(uuid.uuid4())
        started = datetime.now(UTC)
        warm = self._ensure_warm(function)
        invocation = warm.environment.invoke(event, request_id)
        self._log(warm.stream, function, request_id, started, invocation, emf=context.emf)
        if invocation.timed_out:
            self._discard(function.version)  # Lambda replaces an environment it had to stop
        if context.metrics is not None:
            context.metrics.record(
                function=function.name,
                resource=context.target.resource,
                version=function.version,
                duration_ms=invocation.duration_ms,
                error=invocation.error is not None,
            )
        return Invoked(function, request_id, invocation)

    def close(self) -> None:
        for version in list(self._warm):
            self._discard(version)

    def _ensure_warm(self, function: FunctionConfig) -> _Warm:
        warm = self._warm.get(function.version)
        if warm is None:
            environment = self._context.new_environment(function)
            # Ship to the stream the function's context names, when the environment has one.
            name = getattr(environment, "log_stream_name", None) or logs.stream_name(
                datetime.now(UTC), function.version
            )
            stream = logs.LogStream(self._logs, function.log_group_name, name)
            warm = self._warm[function.version] = _Warm(environment, stream)
            self._context.stats.add(cold_starts=1)
        return warm

    def _discard(self, version: str) -> None:
        warm = self._warm.pop(version, None)
        if warm is not None:
            warm.environment.close()

    @staticmethod
    def _log(
        stream: logs.LogStream,
        function: FunctionConfig,
        request_id: str,
        started: datetime,
        invocation: Invocation,
        *,
        emf: EmfMetrics | None,
    ) -> None:
        """INIT_START and the init's output (cold start), START, the function's lines with their
        own times, END and REPORT (with Status on a failure), in the version's log format; every
        line also to `emf`, as CloudWatch Logs reads every line of the group."""
        for line, at in logs.invocation_events(
            invocation,
            request_id=request_id,
            function_name=function.name,
            version=function.version,
            memory_size_mb=function.memory_mb,
            runtime_version=runtime.runtime_version(),
            started=started,
            ended=datetime.now(UTC),
            log_format=function.log_format,
        ):
            stream.add(line, at)
            if emf is not None:
                emf.observe(line)
        stream.flush()
