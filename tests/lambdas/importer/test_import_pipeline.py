"""A file dropped under imports/ ends, row by row, in both stores (or the report, or the DLQ).

Real moto S3 notifications and SQS, the real registration handler and MariaDB; the importer and
the handler run in-process, driven from their queues as the local runner drives them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from tests.lambdas.importer.support import (
    ImportStack,
    bodies_on,
    chunked_context,
    gzipped,
    stored_content,
    users_csv,
)

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[3]


def test_s3_sends_a_test_event_first_and_the_importer_skips_it(import_stack: ImportStack) -> None:
    (message,) = bodies_on(import_stack, import_stack.import_queue_url)
    assert json.loads(message["Body"])["Event"] == "s3:TestEvent"
    assert import_stack.run_importer_once() == 1
    assert bodies_on(import_stack, import_stack.registration_queue_url) == []


def test_5000_rows_with_malformed_and_invalid_ones_import_with_nothing_lost(
    import_stack: ImportStack,
) -> None:
    generated = users_csv(5000, malformed=0.01, invalid=0.01)
    import_stack.upload("imports/users.csv", generated.data)

    chunks = import_stack.run_import(rows_per_chunk=100)

    # The test event; 50 chunks of 100 rows and a 51st that finds the end (the 50th ran out of
    # time exactly there); the notification for the report itself, skipped.
    assert chunks == 1 + 51 + 1
    status = import_stack.status("imports/users.csv")
    assert status["state"] == "done"
    assert status["lines"] == 5001
    assert status["rejected"] == len(generated.malformed_lines)
    assert status["sent"] == 5000 - len(generated.malformed_lines)
    rejects = import_stack.rejects("imports/users.csv")
    assert [r["line"] for r in rejects] == generated.malformed_lines
    assert {r["reason"] for r in rejects} == {"bad_quoting", "column_count", "undecodable"}
    stores = import_stack.stores
    assert stored_content(stores.mysql_users()) == generated.valid
    assert stored_content(stores.dynamodb_users()) == generated.valid
    dead = stores.dlq_messages()
    assert sorted(json.loads(m["body"])["user_id"] for m in dead) == generated.invalid_user_ids
    assert {m["failure_reason"] for m in dead} == {"invalid_email"}
    lost = 5000 - len(generated.valid) - len(generated.malformed_lines) - len(dead)
    assert lost == 0


def importer_process(stack: ImportStack, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.lambdas.importer.drive_importer",
            "--endpoint",
            stack.endpoint_url,
            "--import-queue-url",
            stack.import_queue_url,
            "--import-queue-arn",
            stack.import_queue_arn,
            "--registration-queue-url",
            stack.registration_queue_url,
            *extra,
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": f"{REPO_ROOT}:{REPO_ROOT / 'lambdas'}"},
    )


def queued(stack: ImportStack, queue_url: str) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def test_an_importer_killed_mid_chunk_resumes_from_its_continuation(
    import_stack: ImportStack,
) -> None:
    generated = users_csv(500)
    import_stack.upload("imports/users.csv", generated.data)
    import_stack.run_importer_once()  # the test event
    import_stack.run_importer_once(chunked_context(100))  # lines 2..101, then a continuation
    assert import_stack.run_registrations() == 100
    continuation = import_stack.status("imports/users.csv")

    process = importer_process(import_stack, "--visibility-timeout", "2")
    try:
        while queued(import_stack, import_stack.registration_queue_url) < 50:
            assert process.poll() is None, "the importer finished before it could be killed"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    killed_at = import_stack.status("imports/users.csv")
    assert killed_at["token"] == continuation["token"]  # the chunk never finished
    sent_before_the_kill = queued(import_stack, import_stack.registration_queue_url)
    assert 50 <= sent_before_the_kill < 400

    time.sleep(2.5)  # the continuation's visibility timeout ends: SQS redelivers it
    import_stack.run_import()

    # What the killed chunk sent, then rows 102..501 once from the continuation's offset; a
    # restart from zero would have sent chunk 1's 100 rows again.
    assert import_stack.stores_handled - 100 == sent_before_the_kill + 400
    status = import_stack.status("imports/users.csv")
    assert (status["state"], status["sent"], status["lines"]) == ("done", 500, 501)
    assert stored_content(import_stack.stores.mysql_users()) == generated.valid
    assert stored_content(import_stack.stores.dynamodb_users()) == generated.valid


def test_a_file_uploaded_twice_converges_to_the_same_stores(import_stack: ImportStack) -> None:
    generated = users_csv(150, invalid=0.05)
    import_stack.upload("imports/users.csv", generated.data)
    import_stack.run_import()
    first = (import_stack.stores.mysql_users(), import_stack.stores.dynamodb_users())
    first_status = import_stack.status("imports/users.csv")

    import_stack.upload("imports/users.csv", generated.data)
    import_stack.run_import()

    second_status = import_stack.status("imports/users.csv")
    assert second_status["import_id"] != first_status["import_id"]
    assert second_status["state"] == "done"
    assert (import_stack.stores.mysql_users(), import_stack.stores.dynamodb_users()) == first
    assert stored_content(first[0]) == generated.valid


def test_a_jsonl_gz_file_imports_across_chunks(import_stack: ImportStack) -> None:
    generated = users_csv(250, invalid=0.02)
    header, *lines = generated.data.decode().splitlines()
    columns = header.split(",")
    documents = [dict(zip(columns, line.split(","), strict=True)) for line in lines]
    jsonl = "".join(json.dumps(d) + "\n" for d in documents).encode()
    import_stack.upload("imports/export.jsonl.gz", gzipped(jsonl))

    chunks = import_stack.run_import(rows_per_chunk=100)

    assert chunks == 1 + 3 + 1  # the test event, 100 + 100 + 50 rows, the report's event
    status = import_stack.status("imports/export.jsonl.gz")
    assert (status["state"], status["sent"], status["rejected"]) == ("done", 250, 0)
    assert stored_content(import_stack.stores.dynamodb_users()) == generated.valid
    dead = import_stack.stores.dlq_messages()
    assert sorted(json.loads(m["body"])["user_id"] for m in dead) == generated.invalid_user_ids


def test_the_tutorials_customer_export_imports_and_later_lines_win(
    import_stack: ImportStack,
) -> None:
    data = b"CustID,Name\n1021,Martha Rivera\n1022,Ken Thompson\n1021,Martha Rivera-Lee\nx7,Bad\n"
    version = import_stack.upload("imports/customers.csv", data)
    last_modified = (
        import_stack.client("s3")
        .head_object(Bucket=import_stack.bucket, Key="imports/customers.csv", VersionId=version)[
            "LastModified"
        ]
        .astimezone(UTC)
    )

    import_stack.run_import()

    def at_line(line: int) -> str:
        return (last_modified + timedelta(microseconds=line)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    expected = {
        "1021": {"name": "Martha Rivera-Lee", "email": None, "registered_at": at_line(4)},
        "1022": {"name": "Ken Thompson", "email": None, "registered_at": at_line(3)},
    }
    assert stored_content(import_stack.stores.mysql_users()) == expected
    assert stored_content(import_stack.stores.dynamodb_users()) == expected
    (dead,) = import_stack.stores.dlq_messages()
    assert (json.loads(dead["body"]), dead["failure_reason"]) == (
        {"CustID": "x7", "Name": "Bad"},
        "wrong_type",
    )


def test_a_file_with_an_unknown_header_is_refused_whole(import_stack: ImportStack) -> None:
    import_stack.upload("imports/other.csv", b"id,full_name\n1,Ada\n")
    import_stack.run_import()
    status = import_stack.status("imports/other.csv")
    assert (status["state"], status["sent"]) == ("failed", 0)
    assert status["error"].startswith("bad header: header lacks user_id or CustID")
    assert import_stack.rejects("imports/other.csv") == [
        {"line": 1, "end_line": 1, "reason": "bad_header", "detail": status["error"][12:]}
    ]


def test_peak_memory_stays_flat_as_the_file_grows(import_stack: ImportStack) -> None:
    peaks = {}
    for rows in (20_000, 300_000):
        import_stack.upload(f"imports/big-{rows}.csv", users_csv(rows, malformed=0.001).data)
        process = importer_process(import_stack, "--discard-bodies")
        output, _ = process.communicate(timeout=900)
        assert process.returncode == 0, output
        result = json.loads(output.splitlines()[-1])
        assert import_stack.status(f"imports/big-{rows}.csv")["sent"] > rows * 0.99
        peaks[rows] = result["max_rss_kib"]
    # 15 times the rows (~18 MB more CSV) may not cost even a third of that in memory.
    assert peaks[300_000] - peaks[20_000] < 6 * 1024, peaks
