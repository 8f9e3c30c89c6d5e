"""Run the importer from the import queue in this process until the queue is empty.

Used by tests that need the importer in a process of its own: one that is SIGKILLed mid-chunk,
and one whose peak memory is measured. Prints one JSON line when done.

    python -m tests.lambdas.importer.drive_importer --endpoint URL --import-queue-url URL \
        --import-queue-arn ARN --registration-queue-url URL [--discard-bodies]

``--discard-bodies`` answers SendMessageBatch in-process instead of calling SQS, so a memory
measurement over a large file is not bound by the emulator's speed; S3 streaming is real.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from importer import app
from scripts.harness.lambda_local import sqs_event
from scripts.harness.stack import local_stores
from tests.lambdas.registration.support import ContextStub


class DiscardingQueue:
    """An SQS client whose SendMessageBatch accepts everything and keeps nothing."""

    def __init__(self, real: Any, registration_queue_url: str) -> None:
        self._real = real
        self._registration_queue_url = registration_queue_url
        self.discarded = 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        if QueueUrl != self._registration_queue_url:
            return self._real.send_message_batch(QueueUrl=QueueUrl, Entries=Entries)
        self.discarded += len(Entries)
        return {"Successful": [{"Id": e["Id"], "MessageId": e["Id"]} for e in Entries]}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def peak_rss_kib() -> int:
    """This process's peak resident set size.

    ``ru_maxrss`` survives execve on Linux, so a child of a large test process would report its
    parent's size; VmHWM belongs to the address space this process built after exec.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--import-queue-url", required=True)
    parser.add_argument("--import-queue-arn", required=True)
    parser.add_argument("--registration-queue-url", required=True)
    parser.add_argument("--visibility-timeout", type=int, default=30)
    parser.add_argument("--discard-bodies", action="store_true")
    args = parser.parse_args()
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": args.endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "REGISTRATION_QUEUE_URL": args.registration_queue_url,
            "IMPORT_QUEUE_URL": args.import_queue_url,
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    if args.discard_bodies:
        settings, clients = app.clients()
        sink = DiscardingQueue(clients.sqs, args.registration_queue_url)
        patched = (settings, dataclasses.replace(clients, sqs=sink))
        app.clients = lambda: patched  # type: ignore[assignment]
    sqs = local_stores.client("sqs", args.endpoint)
    started = time.monotonic()
    chunks = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=args.import_queue_url,
            MaxNumberOfMessages=1,
            AttributeNames=["All"],
            VisibilityTimeout=args.visibility_timeout,
        ).get("Messages", [])
        if not messages:
            break
        response = app.lambda_handler(
            sqs_event.event(messages, args.import_queue_arn), ContextStub(remaining_ms=[900_000])
        )
        if response["batchItemFailures"]:
            print(json.dumps({"error": "the importer reported a failure"}), flush=True)
            return 1
        sqs.delete_message(
            QueueUrl=args.import_queue_url, ReceiptHandle=messages[0]["ReceiptHandle"]
        )
        chunks += 1
    print(
        json.dumps(
            {
                "chunks": chunks,
                "seconds": time.monotonic() - started,
                "max_rss_kib": peak_rss_kib(),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
