"""What CloudWatch Logs does with an Embedded Metric Format line: turn it into metrics.

On AWS a function publishes metrics by printing EMF documents (JSON with
`_aws.CloudWatchMetrics`): CloudWatch Logs extracts them from the function's log group, with no
PutMetricData call and no permission. The registration handler publishes its per-batch counts
this way (Powertools Metrics, `lambdas/registration/batch_metrics.py`), and the alarms and the
dashboard read them. moto's CloudWatch Logs stores such a line and nothing more, so the runner
shows every line a function prints to `EmfMetrics.observe` (beside writing it to the log stream,
logs.py), and this module does the extraction: per the EMF specification, each metric
directive's namespace, dimension sets (values from the document's root members) and metric
definitions (unit, storage resolution; values a number or an array of numbers).

Values are aggregated in memory per namespace, metric, dimensions, unit and timestamp (the
document's `Timestamp`, truncated to the metric's resolution) and sent as statistic sets on
`flush`, which the runner calls on the same one-second cadence as LambdaMetrics (metrics.py):
one PutMetricData per namespace and second, not one per line. A line that is not an EMF
document, or one that breaks the specification, is ignored as a whole, as CloudWatch Logs ignores
it (it still reaches the log stream): nothing a function prints can crash the runner.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scripts.harness.lambda_local.metrics import put_metric_data

MAX_DIMENSIONS = 30  # per dimension set (EMF and PutMetricData)
MAX_VALUES = 100  # per metric and document (EMF)
MAX_MAGNITUDE = 2.0**360  # PutMetricData's value range
MIN_MAGNITUDE = 2.0**-360
# CloudWatch skips metrics timestamped more than two weeks back or two hours ahead.
MAX_AGE_MS = 14 * 24 * 3600 * 1000
MAX_AHEAD_MS = 2 * 3600 * 1000
UNITS = frozenset(
    {
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes",
        "Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits",
        "Percent", "Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second",
        "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second",
        "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
    }
)  # fmt: skip
Dimensions = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class MetricKey:
    namespace: str
    name: str
    dimensions: Dimensions
    unit: str
    resolution: int  # StorageResolution: 1 (high) or 60 (standard)
    timestamp_ms: int  # the document's Timestamp, truncated to the resolution


@dataclass(frozen=True)
class Sample:
    """One metric of one EMF document, under one of its dimension sets."""

    key: MetricKey
    values: tuple[float, ...]


class InvalidDocument(ValueError):
    """The line is JSON with `_aws` but breaks the EMF specification: no metric is extracted."""


def samples(line: str, *, now_ms: int | None = None) -> list[Sample]:
    """The metrics CloudWatch Logs would extract from one log line; [] when it has none."""
    if '"_aws"' not in line:  # cheap: most lines are ordinary log lines
        return []
    try:
        document = json.loads(line)
    except ValueError:
        return []
    if not isinstance(document, dict) or "_aws" not in document:
        return []
    try:
        return _extract(document, time.time_ns() // 1_000_000 if now_ms is None else now_ms)
    except InvalidDocument:
        return []


def _extract(document: Mapping[str, Any], now_ms: int) -> list[Sample]:
    metadata = _expect(document["_aws"], dict, "_aws")
    timestamp = metadata.get("Timestamp")
    if not _is_number(timestamp):
        raise InvalidDocument("_aws.Timestamp must be a number (epoch milliseconds)")
    if not now_ms - MAX_AGE_MS <= timestamp <= now_ms + MAX_AHEAD_MS:
        raise InvalidDocument("Timestamp outside the two weeks back, two hours ahead window")
    found: list[Sample] = []
    for raw in _expect(metadata.get("CloudWatchMetrics"), list, "CloudWatchMetrics"):
        directive = _expect(raw, dict, "a metric directive")
        namespace = directive.get("Namespace")
        if not isinstance(namespace, str) or not 1 <= len(namespace) <= 255:
            raise InvalidDocument("Namespace must be a string of 1-255 characters")
        dimension_sets = [
            _dimensions(document, keys)
            for keys in _expect(directive.get("Dimensions"), list, "Dimensions")
        ] or [()]
        for definition in _expect(directive.get("Metrics"), list, "Metrics"):
            name, unit, resolution = _definition(definition)
            values = _values(document.get(name), name)
            truncated = int(timestamp) - int(timestamp) % (resolution * 1000)
            for dimensions in dimension_sets:
                key = MetricKey(namespace, name, dimensions, unit, resolution, truncated)
                found.append(Sample(key, values))
    return found


def _expect(value: Any, kind: type, what: str) -> Any:
    if not isinstance(value, kind):
        raise InvalidDocument(f"{what} must be a JSON {kind.__name__}")
    return value


def _is_number(value: Any) -> bool:
    """A JSON number CloudWatch accepts: finite, within ±2^360, and not closer to 0 than 2^-360
    (PutMetricData refuses the whole call otherwise; JSON integers can be any size)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        magnitude = abs(float(value))
    except OverflowError:
        return False
    return magnitude == 0 or MIN_MAGNITUDE <= magnitude <= MAX_MAGNITUDE


def _dimensions(document: Mapping[str, Any], keys: Any) -> Dimensions:
    """A dimension set: its keys name root members whose values must be strings."""
    keys = _expect(keys, list, "a dimension set")
    if len(keys) > MAX_DIMENSIONS:
        raise InvalidDocument(f"a dimension set has more than {MAX_DIMENSIONS} dimensions")
    dimensions = []
    for key in keys:
        value = document.get(key) if isinstance(key, str) else None
        if not isinstance(value, str) or not value:
            raise InvalidDocument(f"dimension {key!r} must name a non-empty string member")
        dimensions.append((key, value))
    return tuple(dimensions)


def _definition(definition: Any) -> tuple[str, str, int]:
    definition = _expect(definition, dict, "a metric definition")
    name = definition.get("Name")
    if not isinstance(name, str) or not 1 <= len(name) <= 255:
        raise InvalidDocument("a metric's Name must be a string of 1-255 characters")
    unit = definition.get("Unit", "None")
    if not isinstance(unit, str) or unit not in UNITS:
        raise InvalidDocument(f"{name}: {unit!r} is not a CloudWatch unit")
    resolution = definition.get("StorageResolution", 60)
    if resolution not in (1, 60) or isinstance(resolution, bool):
        raise InvalidDocument(f"{name}: StorageResolution must be 1 or 60")
    return name, unit, int(resolution)


def _values(value: Any, name: str) -> tuple[float, ...]:
    values = value if isinstance(value, list) else [value]
    if not 1 <= len(values) <= MAX_VALUES or not all(_is_number(v) for v in values):
        raise InvalidDocument(f"{name}: the value must be a number or 1-{MAX_VALUES} numbers")
    return tuple(float(v) for v in values)


@dataclass
class _Aggregate:
    count: int = 0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf

    def add(self, values: Iterable[float]) -> None:
        for value in values:
            self.count += 1
            self.total += value
            self.minimum = min(self.minimum, value)
            self.maximum = max(self.maximum, value)


class EmfMetrics:
    """Extracts EMF metrics from function log lines and sends them on `flush` (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: defaultdict[MetricKey, _Aggregate] = defaultdict(_Aggregate)

    def observe(self, line: str) -> int:
        """Take one log line; returns how many metrics it carried (0 for any other line)."""
        found = samples(line)
        if found:
            with self._lock:
                for sample in found:
                    self._pending[sample.key].add(sample.values)
        return len(found)

    def flush(self, cloudwatch: Any) -> int:
        """PutMetricData what was observed since the last flush; returns the datums sent."""
        with self._lock:
            pending, self._pending = self._pending, defaultdict(_Aggregate)
        by_namespace: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
        for key, aggregate in pending.items():
            by_namespace[key.namespace].append(_datum(key, aggregate))
        for namespace, datums in by_namespace.items():
            put_metric_data(cloudwatch, namespace, datums)
        return sum(len(datums) for datums in by_namespace.values())


def _datum(key: MetricKey, aggregate: _Aggregate) -> dict[str, Any]:
    datum: dict[str, Any] = {
        "MetricName": key.name,
        "Dimensions": [{"Name": name, "Value": value} for name, value in key.dimensions],
        "Timestamp": datetime.fromtimestamp(key.timestamp_ms / 1000, UTC),
        "StatisticValues": {
            "SampleCount": aggregate.count,
            "Sum": aggregate.total,
            "Minimum": aggregate.minimum,
            "Maximum": aggregate.maximum,
        },
        "Unit": key.unit,
    }
    if key.resolution == 1:
        datum["StorageResolution"] = 1
    return datum
