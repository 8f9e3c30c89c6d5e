"""Lambda entry point (``registration.app.lambda_handler``) for the SQS event source mapping.

The mapping has ``ReportBatchItemFailures``: the response names the records SQS should redeliver;
everything else in the batch is deleted from the queue.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from registration import batch_metrics
from registration.processing import Deadline, RegistrationBatch
from registration.resources import get_resources

# Service name and level come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_LOG_LEVEL.
logger = Logger()
# The batch's counts as metrics (batch_metrics.py): one EMF line per batch, none per record.
metrics = batch_metrics.new_metrics()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    records = event.get("Records")
    if records == []:  # Nothing to do (SQS never sends this, but a test console can).
        return {"batchItemFailures": []}
    resources = get_resources()
    batch = RegistrationBatch(
        resources,
        Deadline(context, resources.settings.time_reserve_ms),
        logger,
        now=datetime.now(UTC),
    )
    batch.prepare(records or [])
    # A fresh processor per call: it holds per-batch state. When every record fails it raises,
    # so a full outage shows as a function error (Errors metric) and the whole batch is retried.
    processor = BatchProcessor(event_type=EventType.SQS)
    try:
        return process_partial_response(
            event=event, record_handler=batch.handle_record, processor=processor, context=context
        )
    finally:
        # Also when every record failed (process_partial_response raised): that batch's
        # RecordsFailed is what the alarm is for.
        summary = batch.summary()
        logger.info("batch finished", extra=summary)
        batch_metrics.publish(metrics, summary)
