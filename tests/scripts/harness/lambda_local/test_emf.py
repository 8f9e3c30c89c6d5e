"""EMF extraction as CloudWatch Logs does it: what Powertools prints becomes the same metrics,
aggregated until flushed, and anything else a function prints is ignored without a crash."""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from hypothesis import given
from hypothesis import strategies as st

from scripts.harness.lambda_local.emf import EmfMetrics, MetricKey, samples
from scripts.harness.stack.moto_server import MotoServer

NOW_MS = int(time.time() * 1000)
WIDE = [f"d{i}" for i in range(31)]  # one dimension more than a set may have


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def put_metric_data(self, **arguments: Any) -> None:
        self.calls.append(arguments)


def powertools_line(namespace: str, service: str, **counts: int) -> str:
    """An EMF line exactly as Powertools Metrics prints it (its own serializer)."""
    metrics = Metrics(namespace=namespace, service=service)
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    line = json.dumps(metrics.serialize_metric_set(), separators=(",", ":"))
    metrics.clear_metrics()
    return line


def emf(metrics: list[dict[str, Any]], dimensions: list[list[str]], **members: Any) -> str:
    document = {
        "_aws": {
            "Timestamp": NOW_MS,
            "CloudWatchMetrics": [
                {"Namespace": "Test", "Dimensions": dimensions, "Metrics": metrics}
            ],
        },
        **members,
    }
    return json.dumps(document)


def test_powertools_lines_become_their_metrics() -> None:
    line = powertools_line("Registrations", "registration", RecordsReceived=5, RecordsFailed=1)
    found = {sample.key.name: sample for sample in samples(line)}
    assert set(found) == {"RecordsReceived", "RecordsFailed"}
    received = found["RecordsReceived"]
    assert received.values == (5.0,)
    assert received.key.namespace == "Registrations"
    assert received.key.dimensions == (("service", "registration"),)
    assert received.key.unit == "Count"
    assert received.key.resolution == 60
    assert received.key.timestamp_ms % 60_000 == 0  # truncated to the metric's resolution


def test_every_dimension_set_is_a_metric_of_its_own() -> None:
    line = emf(
        [{"Name": "Latency", "Unit": "Milliseconds", "StorageResolution": 1}],
        [["service"], ["service", "stage"], []],
        service="reg",
        stage="prod",
        Latency=[10, 30],
    )
    found = samples(line)
    assert {s.key.dimensions for s in found} == {
        (("service", "reg"),),
        (("service", "reg"), ("stage", "prod")),
        (),
    }
    assert {s.values for s in found} == {(10.0, 30.0)}
    assert {(s.key.unit, s.key.resolution) for s in found} == {("Milliseconds", 1)}


def test_a_metric_without_unit_has_unit_none() -> None:
    (sample,) = samples(emf([{"Name": "Things"}], [[]], Things=2))
    assert sample.key.unit == "None"


@pytest.mark.parametrize(
    "line",
    [
        "",
        "START RequestId: 1 Version: $LATEST",
        '{"level": "INFO", "message": "batch finished"}',
        '{"_aws": "not an object", "x": 1}',
        '{"_aws": {"CloudWatchMetrics": []}}',  # no Timestamp
        '{"_aws": {"Timestamp": "now", "CloudWatchMetrics": []}}',
        '{"_aws": {"Timestamp": 1, "CloudWatchMetrics": {}}}',
        '{"_aws": ',  # cut off
        '["_aws"]',
        emf([{"Name": "M", "Unit": "Count"}], [["service"]], M=1),  # dimension member missing
        emf([{"Name": "M", "Unit": "Count"}], [["service"]], service=7, M=1),  # not a string
        emf([{"Name": "M", "Unit": "Count"}], [[]]),  # value missing
        emf([{"Name": "M", "Unit": "Count"}], [[]], M="1"),  # not a number
        emf([{"Name": "M", "Unit": "Count"}], [[]], M=True),
        emf([{"Name": "M", "Unit": "Count"}], [[]], M=[]),
        emf([{"Name": "M", "Unit": "Count"}], [[]], M=list(range(101))),
        emf([{"Name": "M", "Unit": "Count"}], [[]], M=10**400),  # no float holds it
        emf([{"Name": "M", "Unit": "Count"}], [[]], M=float("inf")),  # JSON's Infinity
        emf([{"Name": "M", "Unit": "Count"}], [[]], M=2.0**361),  # beyond PutMetricData's range
        emf([{"Name": "M", "Unit": "Furlongs"}], [[]], M=1),
        emf([{"Name": "M", "Unit": ["Count"]}], [[]], M=1),
        emf([{"Name": "M", "StorageResolution": 5}], [[]], M=1),
        emf([{"Name": ""}], [[]], **{"": 1}),
        emf([{"Name": "M"}], [[["service"]]], M=1),
        emf([{"Name": "M"}], [WIDE], M=1, **dict.fromkeys(WIDE, "v")),
        json.dumps({"_aws": {"Timestamp": 0, "CloudWatchMetrics": []}}),  # 1970: too old
        json.dumps({"_aws": {"Timestamp": 10**400, "CloudWatchMetrics": []}}),
    ],
)  # fmt: skip
def test_lines_that_are_not_valid_emf_carry_no_metric(line: str) -> None:
    assert samples(line) == []
    assert EmfMetrics().observe(line) == 0


def test_a_document_that_breaks_the_rules_anywhere_is_ignored_as_a_whole() -> None:
    line = emf([{"Name": "Good"}, {"Name": "Bad"}], [[]], Good=1, Bad="x")
    assert samples(line) == []


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300)
    | st.floats()
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@given(
    metadata=json_values,
    directive=st.dictionaries(
        st.sampled_from(["Namespace", "Dimensions", "Metrics", "Other"]), json_values
    ),
    members=st.dictionaries(st.sampled_from(["M", "service", "x"]), json_values),
)
def test_no_document_can_crash_the_extraction(
    metadata: Any, directive: dict[str, Any], members: dict[str, Any]
) -> None:
    for aws in (metadata, {"Timestamp": NOW_MS, "CloudWatchMetrics": [directive]}):
        line = json.dumps({"_aws": aws, **members})
        for sample in samples(line):
            assert isinstance(sample.key, MetricKey) and sample.values


def test_lines_are_aggregated_until_flushed_one_call_per_namespace() -> None:
    metrics = EmfMetrics()
    for received, failed in ((5, 1), (3, 0), (10, 2)):
        line = powertools_line(
            "Registrations", "reg", RecordsReceived=received, RecordsFailed=failed
        )
        assert metrics.observe(line) == 2
    metrics.observe(emf([{"Name": "Other", "Unit": "Count"}], [[]], Other=1))
    cloudwatch = Recorder()
    assert metrics.flush(cloudwatch) == 3
    by_namespace = {call["Namespace"]: call["MetricData"] for call in cloudwatch.calls}
    assert set(by_namespace) == {"Registrations", "Test"}
    datums = {d["MetricName"]: d for d in by_namespace["Registrations"]}
    assert datums["RecordsReceived"]["StatisticValues"] == {
        "SampleCount": 3, "Sum": 18.0, "Minimum": 3.0, "Maximum": 10.0,
    }  # fmt: skip
    assert datums["RecordsFailed"]["StatisticValues"]["Sum"] == 3.0
    assert datums["RecordsFailed"]["Dimensions"] == [{"Name": "service", "Value": "reg"}]
    assert datums["RecordsFailed"]["Unit"] == "Count"
    assert "StorageResolution" not in datums["RecordsFailed"]
    assert metrics.flush(cloudwatch) == 0  # nothing new: no call
    assert len(cloudwatch.calls) == 2


def test_flushed_metrics_read_back_from_cloudwatch_on_moto(moto_server: MotoServer) -> None:
    cloudwatch = boto3.client(
        "cloudwatch",
        endpoint_url=moto_server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    service = f"reg-{secrets.token_hex(4)}"  # this test's own series on the shared server
    metrics = EmfMetrics()
    for received, failed in ((5, 1), (3, 2)):
        line = powertools_line(
            "Registrations", service, RecordsReceived=received, RecordsFailed=failed
        )
        metrics.observe(line)
    metrics.flush(cloudwatch)
    now = datetime.now(UTC)

    def statistics(name: str) -> list[dict[str, Any]]:
        return cloudwatch.get_metric_statistics(
            Namespace="Registrations",
            MetricName=name,
            Dimensions=[{"Name": "service", "Value": service}],
            StartTime=now - timedelta(minutes=10),
            EndTime=now + timedelta(minutes=1),
            Period=3600,
            Statistics=["Sum", "SampleCount", "Maximum"],
        )["Datapoints"]

    (failed,) = statistics("RecordsFailed")
    assert (failed["Sum"], failed["SampleCount"], failed["Maximum"]) == (3.0, 2.0, 2.0)
    assert failed["Unit"] == "Count"
    (received,) = statistics("RecordsReceived")
    assert received["Sum"] == 8.0
