"""What every local poller shares: the execution-environment boundary and the poller protocol.

moto stores event source mappings but cannot run their code (it needs Docker), and an enabled
mapping makes moto consume the source itself; so the local profile deploys mappings disabled
and the runner does what the Lambda service would. Per source type one module implements
`EventSource` (sqs_poller.py today); mappings.py discovers the mappings and picks the module.

An `ExecutionEnvironment` is one warm copy of one function version (zip_environment.py); the
pollers create them through an `EnvironmentFactory` given that version's configuration, and
write the version's logs to the environment's `log_stream_name` when it has one.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from scripts.harness.lambda_local.aliases import Target
from scripts.harness.lambda_local.config import FunctionConfig, MappingConfig
from scripts.harness.lambda_local.emf import EmfMetrics
from scripts.harness.lambda_local.metrics import LambdaMetrics

LAMBDA_LONG_POLL_S = 20


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


EnvironmentFactory = Callable[[FunctionConfig], ExecutionEnvironment]


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


@dataclass
class PollerContext:
    """Everything a source type's pollers need for one mapping."""

    mapping: MappingConfig
    target: Target
    session: Any  # aws_session.SessionLike: clients for the source, logs and metrics
    new_environment: EnvironmentFactory
    stats: Stats
    stop: threading.Event
    local_cap: int | None = None  # a laptop's bound on concurrent environments
    wait_s: int = LAMBDA_LONG_POLL_S
    metrics: LambdaMetrics | None = None
    emf: EmfMetrics | None = None  # what CloudWatch Logs extracts from the function's lines
    rng: random.Random = field(default_factory=random.Random)


class EventSource(Protocol):
    """The running pollers of one mapping (one implementation per source type)."""

    context: PollerContext  # the runner swaps `context.target` when an alias moves

    def start(self) -> None:
        """Start polling in background threads."""

    def busy(self) -> bool:
        """Whether an invocation is running (shutdown waits for it)."""

    def close(self) -> None:
        """End every execution environment (after the stop event was set)."""

    def status(self) -> dict[str, Any]:
        """Settings and scaling state, for the status file."""


EventSourceFactory = Callable[[PollerContext], EventSource]
