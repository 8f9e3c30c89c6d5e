"""The rollback rule: per-version Lambda metrics behind the alias, and the stack's alarms.

Lambda publishes `Invocations` and `Errors` per alias *and* executed version (dimensions
FunctionName, Resource=<function>:<alias>, ExecutedVersion); the local runner publishes the same
to CloudWatch on the endpoint. The rule, applied at every look during the bake:

1. any alarm of the stack in ALARM -> roll back (alarms see what metrics per version cannot:
   DLQ depth, message age, records failed, database);
2. once the canary has at least `min_invocations`, roll back if its error ratio exceeds the
   stable version's by more than `margin` (absolute, default 5 points);
3. otherwise keep baking; at the end of the bake, promote.

Errors are function errors: a batch whose records all failed ends in one (BatchProcessor raises),
and so do crashes, timeouts and out-of-memory; records that fail one by one are reported as
batch item failures, which Lambda does not publish as a metric, and are caught by the alarms
instead: the handler's own `RecordsFailed` count (EMF, `service` = the function's name) within a
minute, then DLQ depth and message age.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

PERIOD_S = 60  # Lambda's metric resolution


@dataclass(frozen=True)
class Rule:
    margin: float = 0.05
    min_invocations: int = 3


@dataclass(frozen=True)
class VersionStats:
    version: str
    invocations: int
    errors: int

    @property
    def error_ratio(self) -> float:
        return self.errors / self.invocations if self.invocations else 0.0

    def describe(self) -> str:
        return f"v{self.version}: {self.invocations} invocations, {self.errors} errors"


@dataclass(frozen=True)
class Verdict:
    action: Literal["bake", "rollback"]
    reason: str


def _sum(
    cloudwatch: Any,
    metric: str,
    dimensions: list[dict[str, str]],
    since: datetime,
    until: datetime,
) -> int:
    start = since.replace(second=0, microsecond=0)
    response = cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName=metric,
        Dimensions=dimensions,
        StartTime=start,
        EndTime=until + timedelta(seconds=PERIOD_S),
        Period=PERIOD_S,
        Statistics=["Sum"],
    )
    return int(sum(point["Sum"] for point in response["Datapoints"]))


def version_stats(
    cloudwatch: Any,
    *,
    function_name: str,
    alias: str,
    version: str,
    since: datetime,
    until: datetime,
) -> VersionStats:
    dimensions = [
        {"Name": "FunctionName", "Value": function_name},
        {"Name": "Resource", "Value": f"{function_name}:{alias}"},
        {"Name": "ExecutedVersion", "Value": version},
    ]
    return VersionStats(
        version,
        _sum(cloudwatch, "Invocations", dimensions, since, until),
        _sum(cloudwatch, "Errors", dimensions, since, until),
    )


def alarms_firing(cloudwatch: Any, watched: Iterable[str]) -> list[str]:
    """Alarms in ALARM whose dimensions name one of the stack's resources (`watched`)."""
    names = set(watched)
    firing: list[str] = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(StateValue="ALARM"):
        for alarm in page["MetricAlarms"]:
            values = {d["Value"] for d in alarm.get("Dimensions", [])}
            for query in alarm.get("Metrics", []):
                stat = query.get("MetricStat", {}).get("Metric", {})
                values |= {d["Value"] for d in stat.get("Dimensions", [])}
            if values & names:
                firing.append(alarm["AlarmName"])
    return firing


def judge(stable: VersionStats, canary: VersionStats, firing: list[str], rule: Rule) -> Verdict:
    if firing:
        return Verdict("rollback", f"alarm in ALARM: {', '.join(sorted(firing))}")
    if canary.invocations >= rule.min_invocations and (
        canary.error_ratio > stable.error_ratio + rule.margin
    ):
        return Verdict(
            "rollback",
            f"v{canary.version} error ratio {canary.error_ratio:.0%} > v{stable.version} "
            f"{stable.error_ratio:.0%} + {rule.margin:.0%}",
        )
    return Verdict("bake", "healthy so far")
