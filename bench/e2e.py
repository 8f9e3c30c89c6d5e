"""Messages per second through the local event-source runner (`lambda_local.event_source`).

The runner's own pollers do the work, with the built zip in `zip_environment.ZipEnvironment`
workers, against a queue in the moto server: all messages are sent first, then the pollers are
started and the clock runs until every message has been deleted from the queue (cold starts of
the execution environments included, as on a real scale-out). The mapping and function settings
are built here rather than read from a Terraform deployment: batch size 10, no batching window,
ReportBatchItemFailures, as the Terraform module configures them.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scripts.harness.lambda_local import event_source, zip_environment
from scripts.harness.lambda_local import logs as lambda_logs
from scripts.harness.lambda_local.config import FunctionConfig, MappingConfig
from scripts.harness.messages import sender
from scripts.harness.messages.registrations import PlannedMessage
from scripts.harness.stack import local_stores

VISIBILITY_TIMEOUT_S = 180
# Short polls: the pollers must notice the stop quickly; the queue is full while they run.
POLL_WAIT_S = 1
FUNCTION_TIMEOUT_S = 30


def _function(stores: local_stores.ProvisionedStores) -> FunctionConfig:
    return FunctionConfig(
        name="registration",
        arn="arn:aws:lambda:us-east-1:123456789012:function:registration",
        handler="registration.app.lambda_handler",
        runtime="python3.12",
        timeout_s=FUNCTION_TIMEOUT_S,
        memory_mb=256,
        environment=stores.function_environment(),
        code_sha256="",
    )


def _mapping(queue_arn: str) -> MappingConfig:
    return MappingConfig(
        uuid="bench",
        event_source_arn=queue_arn,
        batch_size=10,
        batching_window_s=0,
        response_types=("ReportBatchItemFailures",),
        maximum_concurrency=None,
        state="Disabled",
    )


def run(
    stores: local_stores.ProvisionedStores,
    bodies: list[str],
    code_dir: Path,
    concurrency: int,
    timeout_s: float,
) -> dict[str, Any]:
    """Send ``bodies``, drain them with ``concurrency`` pollers; returns time and counters."""
    sqs = local_stores.client("sqs", stores.endpoint_url)
    queue_url = sqs.create_queue(
        QueueName=f"q-{stores.table_name}",
        Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT_S)},
    )["QueueUrl"]
    queue = event_source.read_queue(sqs, queue_url)
    plan = [PlannedMessage(kind="valid", body=body, outcome="stored") for body in bodies]
    for batch in sender.batches(plan):
        failed = [r for r in sender.send_batch(sqs, queue_url, batch) if r.error]
        if failed:
            raise RuntimeError(f"could not send benchmark messages: {failed[0].error}")

    function = _function(stores)
    spec = zip_environment.function_spec(function, code_dir)
    logs = local_stores.client("logs", stores.endpoint_url)
    stats = event_source.Stats()
    stop = threading.Event()
    pollers = [
        event_source.Poller(
            sqs=local_stores.client("sqs", stores.endpoint_url),
            queue=queue,
            mapping=_mapping(queue.arn),
            function=function,
            new_environment=lambda: zip_environment.ZipEnvironment(spec),
            new_log_stream=lambda: lambda_logs.LogStream(
                logs, "/aws/lambda/registration", lambda_logs.stream_name(datetime.now(UTC))
            ),
            stats=stats,
            stop=stop,
            wait_s=POLL_WAIT_S,
        )
        for _ in range(concurrency)
    ]
    threads = [
        threading.Thread(target=poller.run, name=f"bench-poller-{index}")
        for index, poller in enumerate(pollers)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    deadline = started + timeout_s
    try:
        while stats.snapshot().get("deleted", 0) < len(bodies) and time.perf_counter() < deadline:
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for poller in pollers:
            poller.close()
    counts = stats.snapshot()
    if counts.get("deleted", 0) < len(bodies):
        raise RuntimeError(
            f"concurrency {concurrency}: only {counts.get('deleted', 0)} of {len(bodies)} "
            f"messages processed within {timeout_s:.0f} s: {counts}"
        )
    return {"seconds": elapsed, "messages_per_s": len(bodies) / elapsed, "runner_stats": counts}
