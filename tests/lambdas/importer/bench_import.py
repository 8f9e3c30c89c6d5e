"""`make import-bench`: the issue's 100,000-row import, and the importer alone on 1,000,000 rows.

Not collected by `make test` (the file name does not start with ``test_``); `make import-bench`
runs it by path, with the same fixtures as tests/lambdas/importer. Figures are printed, not
asserted against a clock: this machine's speed is not a property of the code.
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest

from scripts.harness.lambda_local import runtime, sqs_event
from tests.lambdas.importer.support import ImportStack, stored_content, users_csv
from tests.lambdas.importer.test_import_pipeline import REPO_ROOT, importer_process

pytestmark = pytest.mark.integration


def test_100000_rows_with_1_percent_malformed_and_1_percent_invalid(
    import_stack: ImportStack,
) -> None:
    generated = users_csv(100_000, malformed=0.01, invalid=0.01, seed=14)
    import_stack.upload("imports/bench-100k.csv", generated.data)
    started = time.monotonic()
    import_stack.run_import(rows_per_chunk=100)
    elapsed = time.monotonic() - started

    status = import_stack.status("imports/bench-100k.csv")
    rejects = import_stack.rejects("imports/bench-100k.csv")
    stores = import_stack.stores
    dead = stores.dlq_messages()
    assert status["state"] == "done"
    assert [r["line"] for r in rejects] == generated.malformed_lines
    assert stored_content(stores.mysql_users()) == generated.valid
    assert stored_content(stores.dynamodb_users()) == generated.valid
    assert sorted(json.loads(m["body"])["user_id"] for m in dead) == generated.invalid_user_ids
    lost = generated.rows - len(generated.valid) - len(rejects) - len(dead)
    assert lost == 0
    print(
        f"\nimport-bench 100k: {generated.rows} rows, {len(generated.valid)} stored in both, "
        f"{len(rejects)} rejected with line numbers, {len(dead)} in the DLQ, {lost} lost; "
        f"{elapsed:.0f} s end to end = {generated.rows / elapsed:.0f} rows/s"
    )


def test_the_importer_on_1000000_rows(import_stack: ImportStack) -> None:
    data = users_csv(1_000_000, malformed=0.001, seed=15).data
    import_stack.upload("imports/bench-1m.csv", data)
    process = importer_process(import_stack, "--discard-bodies")
    output, _ = process.communicate(timeout=3600)
    assert process.returncode == 0, output
    result = json.loads(output.splitlines()[-1])
    status = import_stack.status("imports/bench-1m.csv")
    assert status["state"] == "done"
    assert status["sent"] + status["rejected"] == 1_000_000
    print(
        f"\nimport-bench 1M: {len(data) / 1e6:.0f} MB CSV, {status['sent']} bodies, "
        f"{status['rejected']} rejected, {result['seconds']:.0f} s = "
        f"{1_000_000 / result['seconds']:.0f} rows/s (importer alone, SendMessageBatch answered "
        f"in-process), peak RSS {result['max_rss_kib'] / 1024:.0f} MiB"
    )


def code_dir_from_source(directory: Path) -> Path:
    """What dist/importer.zip holds, as symlinks: the package and its bundled dependencies."""
    directory.mkdir()
    (directory / "importer").symlink_to(REPO_ROOT / "lambdas" / "importer")
    for package in ("aws_lambda_powertools", "jmespath", "typing_extensions"):
        found = importlib.util.find_spec(package)
        assert found is not None and found.origin is not None
        origin = Path(found.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (directory / source.name).symlink_to(source)
    return directory


def test_the_importer_in_the_local_runtime(import_stack: ImportStack, tmp_path: Path) -> None:
    """The importer from its source as the runner runs it, with real SendMessageBatch calls.

    moto's SendMessage counts every queued message (queue attributes) on each call, so the
    registration queue is emptied between the 20-second chunks to keep that cost flat; the
    handler's side is measured by the 100,000-row test.
    """
    rows = 20_000
    import_stack.upload("imports/bench-runtime.csv", users_csv(rows, seed=16).data)
    spec = runtime.FunctionSpec(
        code_dir=code_dir_from_source(tmp_path / "code"),
        handler="importer.app.lambda_handler",
        function_name="importer",
        memory_mb=512,
        timeout_s=40,
        environment={
            **import_stack.environment(),
            "AWS_ENDPOINT_URL": import_stack.endpoint_url,
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "TIME_RESERVE_MS": "20000",
        },
    )
    sqs = import_stack.client("sqs")
    invocations = []
    with runtime.LambdaProcess(spec) as environment:
        while messages := import_stack.receive(import_stack.import_queue_url, limit=1):
            result = environment.invoke(sqs_event.event(messages, import_stack.import_queue_arn))
            assert not result.failed, result.error
            assert result.response == {"batchItemFailures": []}
            sqs.delete_message(
                QueueUrl=import_stack.import_queue_url, ReceiptHandle=messages[0]["ReceiptHandle"]
            )
            # Empty it (PurgeQueue allows one call a minute; moto recreates a name at once).
            sqs.delete_queue(QueueUrl=import_stack.registration_queue_url)
            sqs.create_queue(QueueName=import_stack.registration_queue_url.rsplit("/", 1)[-1])
            invocations.append(result)
    status = import_stack.status("imports/bench-runtime.csv")
    assert (status["state"], status["sent"]) == ("done", rows)
    busy_s = sum(r.duration_ms for r in invocations) / 1000
    print(
        f"\nimport-bench local runtime: {rows} rows sent to moto's SQS in {len(invocations)} "
        f"invocations, {busy_s:.0f} s = {rows / busy_s:.0f} rows/s; REPORT Max Memory Used "
        f"{max(r.max_memory_used_mb for r in invocations)} MB (ru_maxrss, which includes the "
        f"parent's peak: see tests/lambdas/importer/drive_importer.py)"
    )
