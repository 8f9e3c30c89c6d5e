"""Messages per second through the local event-source runner, end to end.

    python -m bench.e2e --n 1000 --concurrency 1 2 5    # the drain rows of bench/README.md

The runner's own SQS event source (`lambda_local.sqs_poller`) does the work, with the built zip
in `zip_environment.ZipEnvironment` workers, against a queue in the moto server: all messages
are sent first, then the pollers are started and the clock runs until every message has been
deleted from the queue (cold starts included, as on a real scale-out); both stores are counted
afterwards. The mapping and function settings are built here rather than read from a Terraform
deployment: batch size 10, no batching window, ReportBatchItemFailures, as the Terraform module
configures them; the concurrency is the mapping's MaximumConcurrency.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import backends, workload
from scripts import package
from scripts.harness import cli
from scripts.harness.lambda_local import aliases, code_zip, event_source, zip_environment
from scripts.harness.lambda_local.config import FunctionConfig, MappingConfig
from scripts.harness.lambda_local.metrics import LambdaMetrics
from scripts.harness.lambda_local.sqs_poller import SqsEventSource
from scripts.harness.messages import sender
from scripts.harness.messages.registrations import PlannedMessage
from scripts.harness.stack import aws_session, local_stores

PROG = "bench.e2e"
VISIBILITY_TIMEOUT_S = 180
# Short polls: the pollers must notice the stop quickly; the queue is full while they run.
POLL_WAIT_S = 1
FUNCTION_TIMEOUT_S = 30


def _function(stores: local_stores.ProvisionedStores) -> FunctionConfig:
    return FunctionConfig(
        name=workload.FUNCTION_NAME,
        arn=workload.FUNCTION_ARN,
        handler="registration.app.lambda_handler",
        runtime="python3.12",
        timeout_s=FUNCTION_TIMEOUT_S,
        memory_mb=256,
        environment=stores.function_environment(),
        code_sha256="",
    )


def _mapping(queue_arn: str, concurrency: int) -> MappingConfig:
    return MappingConfig(
        uuid="bench",
        event_source_arn=queue_arn,
        batch_size=10,
        batching_window_s=0,
        response_types=("ReportBatchItemFailures",),
        maximum_concurrency=concurrency,
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
    session = aws_session.session(aws_session.local_target(stores.endpoint_url))
    sqs = session.client("sqs")
    queue_url = sqs.create_queue(
        QueueName=f"q-{stores.table_name}",
        Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT_S)},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    plan = [PlannedMessage(kind="valid", body=body, outcome="stored") for body in bodies]
    sending = time.perf_counter()
    for batch in sender.batches(plan):
        failed = [r for r in sender.send_batch(sqs, queue_url, batch) if r.error]
        if failed:
            raise RuntimeError(f"could not send benchmark messages: {failed[0].error}")
    send_s = time.perf_counter() - sending
    print(f"{PROG}: sent {len(bodies)} in {send_s:.1f} s; draining", flush=True)

    function = _function(stores)
    spec = zip_environment.function_spec(function, code_dir)
    metrics = LambdaMetrics()
    context = event_source.PollerContext(
        mapping=_mapping(queue_arn, concurrency),
        target=aliases.Target(function.arn, function.name, (function,), (1.0,)),
        session=session,
        new_environment=lambda _: zip_environment.ZipEnvironment(spec),
        stats=event_source.Stats(),
        stop=threading.Event(),
        wait_s=POLL_WAIT_S,
        metrics=metrics,
    )
    source = SqsEventSource(context)
    stats = context.stats
    started = time.perf_counter()
    source.start()
    deadline = started + timeout_s
    cloudwatch = session.client("cloudwatch")
    next_flush = started + 1
    try:
        while stats.snapshot().get("deleted", 0) < len(bodies) and time.perf_counter() < deadline:
            time.sleep(0.02)
            if time.perf_counter() >= next_flush:  # once a second, as the runner does
                metrics.flush(cloudwatch)
                next_flush += 1
        elapsed = time.perf_counter() - started
    finally:
        context.stop.set()
        while source.busy():
            time.sleep(0.02)
        source.close()
        metrics.flush(cloudwatch)
    counts = stats.snapshot()
    if counts.get("deleted", 0) < len(bodies):
        raise RuntimeError(
            f"concurrency {concurrency}: only {counts.get('deleted', 0)} of {len(bodies)} "
            f"messages processed within {timeout_s:.0f} s: {counts}"
        )
    return {
        "seconds": elapsed,
        "messages_per_s": len(bodies) / elapsed,
        "send_seconds": round(send_s, 3),
        "runner_stats": counts,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(PROG, __doc__)
    parser.add_argument("--n", type=cli.positive_int, default=1000, help="messages (1000)")
    parser.add_argument(
        "--concurrency", type=cli.positive_int, nargs="+", default=[5], help="pollers (5)"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per drain")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as temp:
        work = Path(temp)
        if package.main(["--arch", "x86_64", "--output", str(work / "registration.zip")]) != 0:
            raise cli.UserError("packaging failed (see above)")
        code_dir = code_zip.extract(work / "registration.zip", work / "code")
        with backends.running_servers("bench-e2e-") as servers:
            for concurrency in args.concurrency:
                stores = servers.fresh_stores(f"e2e{concurrency}")
                outcome = run(stores, workload.bodies(args.n), code_dir, concurrency, args.timeout)
                rows = servers.mysql_rows(stores, "users")
                items = servers.dynamodb_items(stores)
                print(
                    f"{PROG}: concurrency {concurrency}: {args.n} messages in "
                    f"{outcome['seconds']:.1f} s = {outcome['messages_per_s']:.1f} msg/s; "
                    f"MySQL {rows} rows, DynamoDB {items} items; {outcome['runner_stats']}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(PROG, main, None))
