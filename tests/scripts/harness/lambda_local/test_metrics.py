"""The runner's Lambda metrics: names, dimension sets and statistic sets as AWS/Lambda has them."""

from __future__ import annotations

from typing import Any

from scripts.harness.lambda_local.metrics import LambdaMetrics


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def put_metric_data(self, **arguments: Any) -> None:
        self.calls.append(arguments)


def datum(call: dict[str, Any], name: str, **dimensions: str) -> dict[str, Any]:
    wanted = [{"Name": k, "Value": v} for k, v in dimensions.items()]
    (found,) = [
        d for d in call["MetricData"] if d["MetricName"] == name and d["Dimensions"] == wanted
    ]
    return found


def test_aggregates_per_executed_version_until_flushed() -> None:
    metrics = LambdaMetrics()
    for version, duration, error in (("1", 10.0, False), ("1", 30.0, True), ("2", 5.0, False)):
        metrics.record(
            function="reg", resource="reg:live", version=version, duration_ms=duration, error=error
        )
    cloudwatch = Recorder()
    assert metrics.flush(cloudwatch) == 3 * 4  # 3 metrics x (function, alias, 2 versions)
    (call,) = cloudwatch.calls
    assert call["Namespace"] == "AWS/Lambda"
    assert datum(call, "Invocations", FunctionName="reg")["Value"] == 3
    assert datum(call, "Errors", FunctionName="reg", Resource="reg:live")["Value"] == 1
    v1 = {"FunctionName": "reg", "Resource": "reg:live", "ExecutedVersion": "1"}
    assert datum(call, "Invocations", **v1)["Value"] == 2
    assert datum(call, "Duration", **v1)["StatisticValues"] == {
        "SampleCount": 2, "Sum": 40.0, "Minimum": 10.0, "Maximum": 30.0,
    }  # fmt: skip
    assert metrics.flush(cloudwatch) == 0  # nothing new: no call
    assert len(cloudwatch.calls) == 1


def test_an_unqualified_function_has_only_the_function_name_dimension() -> None:
    metrics = LambdaMetrics()
    metrics.record(function="reg", resource="reg", version="$LATEST", duration_ms=1.0, error=False)
    cloudwatch = Recorder()
    metrics.flush(cloudwatch)
    (call,) = cloudwatch.calls
    dimensions = {tuple(d["Name"] for d in m["Dimensions"]) for m in call["MetricData"]}
    assert dimensions == {("FunctionName",)}
