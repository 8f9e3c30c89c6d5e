"""Lambda entry point (``importer.app.lambda_handler``) for the import queue's event source mapping.

Each record is an S3 ObjectCreated notification for a file under ``imports/`` or a continuation
the importer sent itself; the mapping's batch size is 1, so one invocation runs one chunk with
the whole time budget. A record that fails (S3 or SQS unreachable, a body that is neither kind)
is reported in ``batchItemFailures``: SQS redelivers it and, after the queue's maxReceiveCount,
moves it to the import DLQ.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from importer import chunk
from importer.jobs import jobs_from_body

DEFAULT_TIME_RESERVE_MS = 20_000
# The streaming GET reads for as long as the chunk runs; a read may wait on a slow network.
AWS_CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=30,
    retries={"mode": "standard", "max_attempts": 5},
    max_pool_connections=16,
)

logger = Logger()


class ConfigError(RuntimeError):
    """The function's environment is incomplete."""


@dataclass(frozen=True)
class Settings:
    registration_queue_url: str
    import_queue_url: str
    time_reserve_ms: int

    @classmethod
    def from_environ(cls, environ: dict[str, str]) -> Settings:
        missing = [
            name for name in ("REGISTRATION_QUEUE_URL", "IMPORT_QUEUE_URL") if not environ.get(name)
        ]
        if missing:
            raise ConfigError(f"missing environment variable(s): {', '.join(missing)}")
        reserve = environ.get("TIME_RESERVE_MS", str(DEFAULT_TIME_RESERVE_MS))
        if not reserve.isdigit():
            raise ConfigError(f"TIME_RESERVE_MS must be a whole number of ms, not {reserve!r}")
        return cls(environ["REGISTRATION_QUEUE_URL"], environ["IMPORT_QUEUE_URL"], int(reserve))


@cache
def clients() -> tuple[Settings, chunk.Clients]:
    """Built on first use and reused by warm invocations."""
    settings = Settings.from_environ(dict(os.environ))
    return settings, chunk.Clients(
        s3=boto3.client("s3", config=AWS_CLIENT_CONFIG),
        sqs=boto3.client("sqs", config=AWS_CLIENT_CONFIG),
        registration_queue_url=settings.registration_queue_url,
        import_queue_url=settings.import_queue_url,
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    settings, aws = clients()

    def handle(record: SQSRecord) -> None:
        jobs = jobs_from_body(record.body)
        if not jobs:
            logger.info("nothing to import", extra={"message_id": record.message_id})
        for job in jobs:
            result = chunk.run(job, aws, context, settings.time_reserve_ms)
            logger.info(
                "chunk finished",
                extra={"bucket": job.bucket, "key": job.key, **asdict(result)},
            )

    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(
        event=event, record_handler=handle, processor=processor, context=context
    )
