"""The handler's own counts as one EMF line per batch (Powertools Metrics), read from stdout.

The handler tests run in-process against this test's own MariaDB database and moto resources;
the environment test runs a fresh interpreter, because Powertools reads the namespace and the
service once, when the module is imported (as in a Lambda container).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from registration import app, resources
from scripts.harness.stack import processes
from tests.lambdas.registration.support import HandlerStores, body, canonical, sqs_event

REPO_ROOT = Path(__file__).resolve().parents[3]
ADA_OLD = canonical("u-1", "Ada Old", None, "2026-01-01T08:00:00Z")
ADA = canonical("u-1", "Ada Lovelace", "ada@example.com", "2026-01-01T09:00:00Z")
GRACE = canonical("u-2", "Grace Hopper", None, "2026-01-01T09:01:00+01:00")
COUNTS = (
    "RecordsReceived",
    "RecordsStored",
    "RecordsStale",
    "RecordsRejected",
    "RecordsFailed",
    "MySQLRowsUpserted",
)


def emf_documents(stdout: str) -> list[dict[str, Any]]:
    """Every EMF document printed (lines with the `_aws` metadata); log lines are skipped."""
    documents = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [document for document in documents if "_aws" in document]


def counts(document: dict[str, Any]) -> dict[str, float]:
    """Each count's value; Powertools writes EMF values as arrays, here of one value each."""
    values = {name: document[name] for name in COUNTS}
    assert all(isinstance(v, list) and len(v) == 1 for v in values.values()), values
    return {name: value[0] for name, value in values.items()}


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> str:
    """The service dimension this module's `metrics` would have read from the function's
    environment at import (the test process imported it before any test set that)."""
    monkeypatch.setattr(app.metrics, "service", "registration")
    return "registration"


@pytest.mark.integration
def test_a_mixed_batch_publishes_its_counts_in_one_emf_line(
    handler_stores: HandlerStores,
    service: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = resources.get_resources().dynamodb
    real_put = store.put

    def put(registration: Any) -> Any:  # DynamoDB fails for one user: its record is retried
        if registration.user_id == "u-2":
            raise RuntimeError("DynamoDB refused u-2")
        return real_put(registration)

    monkeypatch.setattr(store, "put", put)
    event = sqs_event([body(**ADA_OLD), body(**ADA), body(**GRACE), "not json", "[]"])
    response = handler_stores.invoke(event)

    assert len(response["batchItemFailures"]) == 1  # GRACE
    (document,) = emf_documents(capsys.readouterr().out)
    assert counts(document) == {
        "RecordsReceived": 5,
        "RecordsStored": 1,  # ADA
        "RecordsStale": 1,  # ADA_OLD, superseded in the same batch
        "RecordsRejected": 2,  # "not json", "[]"
        "RecordsFailed": 1,  # GRACE
        "MySQLRowsUpserted": 2,  # u-1 and u-2, newest each
    }
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Registrations"
    assert directive["Dimensions"] == [["service"]]
    assert document["service"] == service
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == dict.fromkeys(COUNTS, "Count")
    assert len(handler_stores.dlq_messages()) == 2


@pytest.mark.integration
def test_counts_are_published_when_every_record_fails(
    handler_stores: HandlerStores,
    configure: Callable[[dict[str, str]], None],
    service: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure({"DB_PORT": str(processes.free_port()), "DB_CONNECT_TIMEOUT": "1"})
    with pytest.raises(BatchProcessingError):  # a function error, and still the metrics
        handler_stores.invoke_bodies([body(**ADA), body(**GRACE)])
    (document,) = emf_documents(capsys.readouterr().out)
    assert counts(document) == {
        "RecordsReceived": 2,
        "RecordsStored": 0,
        "RecordsStale": 0,
        "RecordsRejected": 0,
        "RecordsFailed": 2,
        "MySQLRowsUpserted": 0,
    }


@pytest.mark.integration
def test_one_line_per_batch_whatever_its_size(
    handler_stores: HandlerStores, service: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bodies = [
        body(**canonical(f"u-{n}", f"User {n}", None, "2026-01-01T09:00:00Z")) for n in range(40)
    ]
    handler_stores.invoke_bodies(bodies)
    handler_stores.invoke_bodies(bodies)  # a redelivery: every record already stored
    first, second = map(counts, emf_documents(capsys.readouterr().out))
    assert (first["RecordsReceived"], first["RecordsStored"], first["RecordsStale"]) == (40, 40, 0)
    # The same version again counts as ours (applied), not stale: see processing._settle.
    assert (second["RecordsReceived"], second["RecordsStored"]) == (40, 40)


def publish_in_a_fresh_interpreter(environment: dict[str, str]) -> list[dict[str, Any]]:
    script = (
        "from registration import app, batch_metrics\n"
        "batch_metrics.publish(app.metrics, {'received': 3, 'dead_lettered': 1, 'retried': 2})\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO_ROOT / "lambdas")}
        | environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return emf_documents(result.stdout)


def test_namespace_and_service_come_from_the_environment() -> None:
    (document,) = publish_in_a_fresh_interpreter(
        {"POWERTOOLS_METRICS_NAMESPACE": "Team/Registrations", "POWERTOOLS_SERVICE_NAME": "reg-x"}
    )
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Team/Registrations"
    assert directive["Dimensions"] == [["service"]]
    assert document["service"] == "reg-x"
    assert counts(document) == {
        "RecordsReceived": 3,
        "RecordsStored": 0,
        "RecordsStale": 0,
        "RecordsRejected": 1,
        "RecordsFailed": 2,
        "MySQLRowsUpserted": 0,
    }


def test_without_a_namespace_the_metrics_still_go_to_registrations() -> None:
    (document,) = publish_in_a_fresh_interpreter({"POWERTOOLS_SERVICE_NAME": "reg-x"})
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Registrations"
