"""`send_messages --via http`: registrations go through the local gateway, the ledger says so.

The ledger must be what `make verify` needs: for every accepted message the SQS message id the
API returned (so it matches the queue), for every body the API refused its answer.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from scripts import send_messages
from scripts.harness.messages import ledger, registrations
from tests.scripts.gateway.support import create_ingest_api

pytestmark = pytest.mark.integration


def test_send_via_http_records_the_queues_message_ids_and_the_apis_refusals(
    moto: Any, session: Any, start_gateway: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = start_gateway(create_ingest_api(session))
    argv = [
        "--endpoint-url", moto.endpoint_url,
        "--queue-url", gateway.api.queue_url,
        "--via", "http",
        "--ingest-url", gateway.url,
        "--api-key", gateway.api.api_key,
        "--concurrency", "4",
        "-n", "60",
        "--invalid", "0.15",
        "--duplicates", "0.1",
        "--out-of-order", "0.1",
        "--run-id", "http1",
        "--ledger-dir", str(tmp_path),
    ]  # fmt: skip
    assert send_messages.run(argv) == 0
    run = ledger.read(ledger.resolve(None, tmp_path))
    assert run.header.options["via"] == "http"
    assert len(run.messages) == 60
    refused = [m for m in run.messages if not m.sent]
    assert refused and all(m.outcome == registrations.DLQ for m in refused)
    assert all(m.error and m.error.startswith("HTTP 400: Invalid request body") for m in refused)
    on_queue = {m["MessageId"]: m for m in gateway.received()}
    assert {m.message_id for m in run.sent} == set(on_queue)
    for entry in run.sent:
        message = on_queue[entry.message_id]
        assert message["Body"] == entry.body
        assert message["MessageAttributes"]["source"]["StringValue"] == "http"
    assert f"the API refused {len(refused)} invalid" in capsys.readouterr().out


def test_wrong_api_key_is_a_failed_run_with_the_reason_in_the_ledger(
    moto: Any, session: Any, start_gateway: Any, tmp_path: Any
) -> None:
    gateway = start_gateway(create_ingest_api(session))
    argv = [
        "--endpoint-url", moto.endpoint_url,
        "--queue-url", gateway.api.queue_url,
        "--via", "http",
        "--ingest-url", gateway.url,
        "--api-key", "wrong",
        "-n", "3",
        "--ledger-dir", str(tmp_path),
    ]  # fmt: skip
    assert send_messages.run(argv) == 1
    run = ledger.read(ledger.resolve(None, tmp_path))
    assert [m.error for m in run.messages] == ["HTTP 403: Forbidden"] * 3
    assert gateway.received() == []


def test_throttled_requests_are_retried_until_accepted(
    moto: Any, session: Any, start_gateway: Any, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Burst 2 at 2/s: a quick run of 8 meets 429s, and the backoff gets every one through."""
    caplog.set_level(logging.INFO, logger="local_gateway")
    gateway = start_gateway(create_ingest_api(session, rate=2, burst=2))
    argv = [
        "--endpoint-url", moto.endpoint_url,
        "--queue-url", gateway.api.queue_url,
        "--via", "http",
        "--ingest-url", gateway.url,
        "--api-key", gateway.api.api_key,
        "--concurrency", "4",
        "-n", "8",
        "--ledger-dir", str(tmp_path),
    ]  # fmt: skip
    assert send_messages.run(argv) == 0
    run = ledger.read(ledger.resolve(None, tmp_path))
    assert len(run.sent) == 8
    assert len(gateway.received()) == 8
    statuses = [
        json.loads(r.getMessage())["status"]
        for r in caplog.records
        if r.name == "local_gateway" and r.levelno == logging.INFO
    ]
    assert statuses.count(200) == 8
    assert 429 in statuses  # the access log shows the throttling the sender rode out
