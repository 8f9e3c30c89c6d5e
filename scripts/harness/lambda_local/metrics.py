"""Lambda's invocation metrics (AWS/Lambda: Invocations, Errors, Duration), sent by the runner.

On AWS the service publishes them; a release command that compares the new version's errors
with the old one's reads them per `ExecutedVersion`, so locally the runner publishes the same
names and dimension sets: FunctionName; FunctionName + Resource (`name:alias`); and, for an
alias or version, FunctionName + Resource + ExecutedVersion. Invocations are aggregated in
memory and sent as statistic sets on `flush` (the runner flushes every second), so metrics cost
one PutMetricData per second rather than one per batch.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

NAMESPACE = "AWS/Lambda"
MAX_DATUMS_PER_CALL = 1000
Dimensions = tuple[tuple[str, str], ...]


@dataclass
class _Aggregate:
    invocations: int = 0
    errors: int = 0
    durations: list[float] = field(default_factory=list)


class LambdaMetrics:
    """Aggregates invocations per dimension set until flushed (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: defaultdict[Dimensions, _Aggregate] = defaultdict(_Aggregate)

    def record(
        self, *, function: str, resource: str, version: str, duration_ms: float, error: bool
    ) -> None:
        with self._lock:
            for dimensions in dimension_sets(function, resource, version):
                aggregate = self._pending[dimensions]
                aggregate.invocations += 1
                aggregate.errors += int(error)
                aggregate.durations.append(duration_ms)

    def flush(self, cloudwatch: Any) -> int:
        """PutMetricData what was recorded since the last flush; returns the datums sent."""
        with self._lock:
            pending, self._pending = self._pending, defaultdict(_Aggregate)
        datums = [datum for dims, agg in pending.items() for datum in _datums(dims, agg)]
        put_metric_data(cloudwatch, NAMESPACE, datums)
        return len(datums)


def put_metric_data(cloudwatch: Any, namespace: str, datums: list[dict[str, Any]]) -> None:
    """PutMetricData in as few calls as its per-call limit allows."""
    for start in range(0, len(datums), MAX_DATUMS_PER_CALL):
        cloudwatch.put_metric_data(
            Namespace=namespace, MetricData=datums[start : start + MAX_DATUMS_PER_CALL]
        )


def dimension_sets(function: str, resource: str, version: str) -> list[Dimensions]:
    sets: list[Dimensions] = [(("FunctionName", function),)]
    if resource != function:
        sets.append((("FunctionName", function), ("Resource", resource)))
        sets.append(
            (("FunctionName", function), ("Resource", resource), ("ExecutedVersion", version))
        )
    return sets


def _datums(dimensions: Dimensions, aggregate: _Aggregate) -> list[dict[str, Any]]:
    named = [{"Name": name, "Value": value} for name, value in dimensions]
    durations = aggregate.durations
    return [
        {
            "MetricName": "Invocations",
            "Dimensions": named,
            "Value": aggregate.invocations,
            "Unit": "Count",
        },
        {"MetricName": "Errors", "Dimensions": named, "Value": aggregate.errors, "Unit": "Count"},
        {
            "MetricName": "Duration",
            "Dimensions": named,
            "StatisticValues": {
                "SampleCount": len(durations),
                "Sum": sum(durations),
                "Minimum": min(durations),
                "Maximum": max(durations),
            },
            "Unit": "Milliseconds",
        },
    ]
