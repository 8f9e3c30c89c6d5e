"""An import stack in moto, and a driver that runs both functions the way the runner would.

`ImportStack` holds what `modules/bulk_import` creates (a versioned bucket whose ObjectCreated
notifications under ``imports/`` go to the import queue, with the same suffix filters) plus the
registration queue the importer sends to. `drain` receives from each queue, builds the SQS event
exactly as the local runner does (`sqs_event.event`), calls the handler in-process and deletes
only the records the response does not name as failures.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from importer import app as importer_app
from scripts.harness.lambda_local import sqs_event
from scripts.harness.stack import local_stores
from tests.lambdas.registration.support import ContextStub, HandlerStores

IMPORT_SUFFIXES = (".csv", ".csv.gz", ".jsonl", ".jsonl.gz")
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
HEADER = "user_id,name,email,registered_at"


@dataclass
class ImportStack:
    endpoint_url: str
    bucket: str
    import_queue_url: str
    import_queue_arn: str
    registration_queue_url: str
    registration_queue_arn: str
    stores: HandlerStores
    stores_handled: int = 0  # registration messages the handler was given, in total

    def client(self, service: str) -> Any:
        return local_stores.client(service, self.endpoint_url)

    def environment(self) -> dict[str, str]:
        return {
            "REGISTRATION_QUEUE_URL": self.registration_queue_url,
            "IMPORT_QUEUE_URL": self.import_queue_url,
        }

    def upload(self, key: str, data: bytes) -> str:
        """Put the file; returns its version id."""
        response = self.client("s3").put_object(Bucket=self.bucket, Key=key, Body=data)
        return str(response["VersionId"])

    def status(self, key: str) -> dict[str, Any]:
        relative = key.removeprefix("imports/")
        body = self.client("s3").get_object(
            Bucket=self.bucket, Key=f"imports/reports/{relative}.status.json"
        )["Body"]
        return dict(json.loads(body.read()))

    def rejects(self, key: str) -> list[dict[str, Any]]:
        relative = key.removeprefix("imports/")
        body = self.client("s3").get_object(
            Bucket=self.bucket, Key=f"imports/reports/{relative}.rejects.jsonl"
        )["Body"]
        return [json.loads(line) for line in body.read().splitlines()]

    def receive(
        self, queue_url: str, *, visibility_timeout: int = 30, limit: int = 10
    ) -> list[dict[str, Any]]:
        response = self.client("sqs").receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=limit,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=visibility_timeout,
            WaitTimeSeconds=0,
        )
        return list(response.get("Messages", []))

    def run_importer_once(self, context: ContextStub | None = None) -> int:
        """One import-queue message through the importer; returns how many were received."""
        return self._invoke(
            self.import_queue_url,
            self.import_queue_arn,
            lambda event: importer_app.lambda_handler(event, context or ContextStub()),
            batch=1,
        )

    def run_registrations(self) -> int:
        """The registration handler over everything queued; returns messages handled."""
        handled = 0
        while count := self._invoke(
            self.registration_queue_url,
            self.registration_queue_arn,
            self.stores.invoke,
            batch=10,
        ):
            handled += count
        self.stores_handled += handled
        return handled

    def run_import(self, rows_per_chunk: int = 100) -> int:
        """Import chunks and registrations until both queues are empty; returns chunks run.

        The registration queue is drained after every chunk, as the runner's concurrent pollers
        keep it short: moto's ReceiveMessage costs grow with the square of the queued messages.
        """
        chunks = 0
        while self.run_importer_once(chunked_context(rows_per_chunk)):
            chunks += 1
            self.run_registrations()
        self.run_registrations()
        return chunks

    def _invoke(
        self, queue_url: str, queue_arn: str, handler: Callable[[Any], Any], *, batch: int
    ) -> int:
        sqs = self.client("sqs")
        messages = self.receive(queue_url, limit=batch)
        if not messages:
            return 0
        response = handler(sqs_event.event(messages, queue_arn))
        failed = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for message in (m for m in messages if m["MessageId"] in failed):
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        for start in range(0, len(done), 10):
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
        return len(messages)


def chunked_context(rows_per_chunk: int) -> ContextStub:
    """A clock that runs out after ``rows_per_chunk`` rows (the importer looks every 100 rows)."""
    checks = max(rows_per_chunk // 100, 1)
    return ContextStub(remaining_ms=[60_000] * (checks - 1) + [0])


def provision(stores: HandlerStores, endpoint_url: str, suffix: str) -> ImportStack:
    """What modules/bulk_import creates, by boto3 (the Terraform module is tested separately)."""
    sqs = local_stores.client("sqs", endpoint_url)
    s3 = local_stores.client("s3", endpoint_url)

    def queue(name: str) -> tuple[str, str]:
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        return url, arn["QueueArn"]

    import_url, import_arn = queue(f"imports-{suffix}")
    registration_url, registration_arn = queue(f"registrations-{suffix}")
    bucket = f"imports-{suffix}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": f"import{suffix_name.replace('.', '-')}",
                    "QueueArn": import_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": "imports/"},
                                {"Name": "suffix", "Value": suffix_name},
                            ]
                        }
                    },
                }
                for suffix_name in IMPORT_SUFFIXES
            ]
        },
    )
    return ImportStack(
        endpoint_url=endpoint_url,
        bucket=bucket,
        import_queue_url=import_url,
        import_queue_arn=import_arn,
        registration_queue_url=registration_url,
        registration_queue_arn=registration_arn,
        stores=stores,
    )


@dataclass(frozen=True)
class GeneratedFile:
    """A generated CSV and what each of its lines must become."""

    data: bytes
    valid: dict[str, dict[str, Any]]  # user_id -> stored content of its last valid row
    malformed_lines: list[int]  # rows the importer must reject
    invalid_user_ids: list[str]  # rows the handler must dead-letter
    rows: int


def users_csv(
    count: int,
    *,
    malformed: float = 0.0,
    invalid: float = 0.0,
    seed: int = 7,
    prefix: str = "u",
) -> GeneratedFile:
    """A canonical CSV of ``count`` rows; some malformed (3 kinds), some invalid registrations."""
    rng = random.Random(seed)
    lines = [HEADER.encode()]
    valid: dict[str, dict[str, Any]] = {}
    malformed_lines: list[int] = []
    invalid_ids: list[str] = []
    for index in range(count):
        line_number = index + 2
        user_id = f"{prefix}-{index:07d}"
        registered_at = (BASE_TIME + timedelta(seconds=index)).strftime("%Y-%m-%dT%H:%M:%SZ")
        name = f"Name {index}"
        email = f"user{index}@example.com"
        draw = rng.random()
        if draw < malformed:
            kind = index % 3
            if kind == 0:
                lines.append(f'{user_id},"{name}"x,{email},{registered_at}'.encode())
            elif kind == 1:
                lines.append(f"{user_id},{name},{registered_at}".encode())
            else:
                lines.append(f"{user_id},N\xe4me,{email},{registered_at}".encode("latin-1"))
            malformed_lines.append(line_number)
        elif draw < malformed + invalid:
            lines.append(f"{user_id},{name},not-an-email,{registered_at}".encode())
            invalid_ids.append(user_id)
        else:
            lines.append(f"{user_id},{name},{email},{registered_at}".encode())
            valid[user_id] = {
                "name": name,
                "email": email,
                "registered_at": registered_at.replace("Z", ".000000Z"),
            }
    return GeneratedFile(b"\n".join(lines) + b"\n", valid, malformed_lines, invalid_ids, count)


def stored_content(users: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Stored rows without the version (compared against what the file says)."""
    return {
        user_id: {k: v for k, v in row.items() if k != "version"} for user_id, row in users.items()
    }


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def bodies_on(stack: ImportStack, queue_url: str) -> Sequence[dict[str, Any]]:
    """Every message on a queue, left in place (made visible again)."""
    sqs = stack.client("sqs")
    seen: dict[str, dict[str, Any]] = {}
    while batch := stack.receive(queue_url, visibility_timeout=30):
        for message in batch:
            seen[message["MessageId"]] = message
    for message in seen.values():
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return list(seen.values())
