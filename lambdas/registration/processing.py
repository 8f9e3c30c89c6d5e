"""One invocation's batch: validate every record, write MySQL once, then settle each record.

The MySQL write is batch-level (one multi-row statement for all valid records) while BatchProcessor
works record by record, so the batch is prepared first and each record's verdict is then settled
in `handle_record`: rejected -> DLQ with reason (handled), MySQL failed or no time left -> raise
(batch item failure), otherwise the DynamoDB conditional put.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from registration.errors import (
    FailureReason,
    StoreUnavailableError,
    TimeBudgetExhaustedError,
    TransientError,
    ValidationError,
)
from registration.models import Registration
from registration.resources import Resources
from registration.validation import ORIGINAL_SENT_TIMESTAMP, parse_registration

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

Verdict = Registration | ValidationError
# Log-safe renderings of personal data: enough to correlate, never the value itself.
MASK = "***"


def mask_email(email: str | None) -> str | None:
    """``martha.rivera@example.com`` -> ``m***@e***.com`` (first letters and top-level domain)."""
    if email is None:
        return None
    local, _, domain = email.rpartition("@")
    if not local or not domain:
        return MASK
    host, _, tld = domain.rpartition(".")
    masked_domain = f"{host[:1]}{MASK}.{tld}" if host and tld else MASK
    return f"{local[:1]}{MASK}@{masked_domain}"


def mask_name(name: str) -> str:
    """``Martha Rivera`` -> ``M*** (13 chars)``: the initial and length only."""
    if not name:
        return MASK
    return f"{name[:1]}{MASK} ({len(name)} chars)"


class RemainingTimeSource(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


class Deadline:
    """Raises before a write when less than ``reserve_ms`` of the invocation is left.

    The reserve must cover the slowest single step (a MySQL round-trip bounded by its read
    timeout, or a DynamoDB put with its retries), so a started write always finishes.
    """

    def __init__(self, context: RemainingTimeSource, reserve_ms: int) -> None:
        self._context = context
        self._reserve_ms = reserve_ms

    def remaining_ms(self) -> int:
        return self._context.get_remaining_time_in_millis()

    def check(self, step: str) -> None:
        remaining = self.remaining_ms()
        if remaining < self._reserve_ms:
            raise TimeBudgetExhaustedError(
                f"{remaining} ms left, below the {self._reserve_ms} ms reserve; not starting {step}"
            )


def parse_record(record: Mapping[str, Any], *, now: datetime) -> Verdict:
    """Validate one raw SQS record; a rejection is returned, not raised."""
    body = record.get("body")
    if not isinstance(body, str):
        return ValidationError(FailureReason.INVALID_JSON, "record has no text body")
    try:
        return parse_registration(body, _ordering_attributes(record), now=now)
    except ValidationError as rejection:
        return rejection


def _ordering_attributes(record: Mapping[str, Any]) -> dict[str, str]:
    """SQS's system attributes plus ``original_sent_timestamp`` when a redrive carried it."""
    attributes = record.get("attributes")
    merged = dict(attributes) if isinstance(attributes, Mapping) else {}
    message_attributes = record.get("messageAttributes")
    carried = (
        message_attributes.get(ORIGINAL_SENT_TIMESTAMP)
        if isinstance(message_attributes, Mapping)
        else None
    )
    if isinstance(carried, Mapping):
        merged[ORIGINAL_SENT_TIMESTAMP] = str(carried.get("stringValue", ""))
    return merged


class RegistrationBatch:
    """Per-invocation state only; created fresh by every handler call."""

    def __init__(
        self, resources: Resources, deadline: Deadline, logger: Logger, *, now: datetime
    ) -> None:
        self._resources = resources
        self._deadline = deadline
        self._logger = logger
        self._now = now
        self._verdicts: dict[str, Verdict] = {}
        self._mysql_failure: TransientError | None = None
        self._counts: Counter[str] = Counter()

    def prepare(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Validate all records, then upsert the valid ones into MySQL in one round-trip."""
        for record in records:
            self._verdicts[str(record.get("messageId"))] = parse_record(record, now=self._now)
        self._counts["received"] = len(records)
        valid = [v for v in self._verdicts.values() if isinstance(v, Registration)]
        if not valid:
            return
        try:
            self._deadline.check("the MySQL upsert")
            rows = self._resources.mysql.upsert(valid)
        except TransientError as failure:
            self._mysql_failure = failure
            self._logger.warning(
                "MySQL write failed; valid records will be retried",
                extra={"error": str(failure), "records": len(valid)},
            )
            return
        self._counts["mysql_rows"] = rows

    def handle_record(self, record: SQSRecord) -> str:
        """BatchProcessor's record handler: return = handled, raise = batch item failure."""
        try:
            return self._settle(record)
        except TransientError as failure:
            self._counts["retried"] += 1
            self._logger.warning(
                "record not processed; SQS will retry it",
                extra={"message_id": record.message_id, "error": str(failure)},
            )
            raise
        except Exception:
            self._counts["retried"] += 1
            self._logger.exception(
                "unexpected error; SQS will retry the record",
                extra={"message_id": record.message_id},
            )
            raise

    def summary(self) -> dict[str, int]:
        return dict(self._counts)

    def _settle(self, record: SQSRecord) -> str:
        verdict = self._verdicts.get(record.message_id)
        if verdict is None:  # Not seen by prepare(): cannot happen for a well-formed event.
            verdict = parse_record(record.raw_event, now=self._now)
        if isinstance(verdict, ValidationError):
            return self._dead_letter(record, verdict)
        if self._mysql_failure is not None:
            raise StoreUnavailableError(f"not stored, MySQL write failed: {self._mysql_failure}")
        self._deadline.check("the DynamoDB write")
        outcome = self._resources.dynamodb.put(verdict)
        self._counts[f"dynamodb_{outcome}"] += 1
        # DEBUG: at INFO a line per record was the handler's largest cost after the stores (see
        # bench/README.md); the INFO "batch finished" line carries the counts.
        self._logger.debug(
            "registration processed",
            extra={
                "message_id": record.message_id,
                "user_id": verdict.user_id,
                "name_masked": mask_name(verdict.name),
                "email_masked": mask_email(verdict.email),
                "registered_at": verdict.registered_at_text,
                "dynamodb": outcome.value,
            },
        )
        return outcome.value

    def _dead_letter(self, record: SQSRecord, rejection: ValidationError) -> str:
        self._deadline.check("the DLQ send")
        dlq_message_id = self._resources.dead_letters.send(
            body=record.body or "",
            source_message_id=record.message_id,
            error=rejection,
        )
        self._counts["dead_lettered"] += 1
        self._logger.warning(
            "message rejected and sent to the DLQ",
            extra={
                "message_id": record.message_id,
                "failure_reason": rejection.reason.value,
                "failure_detail": rejection.detail,
                "dlq_message_id": dlq_message_id,
            },
        )
        return "dead_lettered"
