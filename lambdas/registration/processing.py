"""One invocation's batch: validate every record, write the stores once, then settle each record.

The writes are batch-level (one multi-row MySQL statement, then one concurrent DynamoDB put per
user and one DLQ SendMessageBatch per 10 rejections) while BatchProcessor works record by record,
so the batch is prepared first and each record's verdict is then reported by `handle_record`:
rejected -> DLQ with reason (handled), a store failed or no time left -> raise (batch item
failure), otherwise the DynamoDB outcome (applied or stale).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
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
from registration.stores.dead_letter import Rejection, SendResults
from registration.stores.dynamodb import WriteOutcome
from registration.stores.mysql import newest_per_user
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

    Checked before every step that can block (a MySQL statement or reconnect, each DynamoDB put,
    each DLQ call). The reserve covers the slowest single step (config.minimum_time_reserve_ms),
    so a step once started always finishes before the function timeout.
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
    """Per-invocation state only; created fresh by every handler call.

    `prepare` does all the I/O of the batch in as few round trips as it can: one MySQL upsert,
    then the DynamoDB writes (one per user, the newest of the batch) and the DLQ send of all
    rejections, concurrently. `handle_record` then only reports each record's settled verdict.
    """

    def __init__(
        self, resources: Resources, deadline: Deadline, logger: Logger, *, now: datetime
    ) -> None:
        self._resources = resources
        self._deadline = deadline
        self._logger = logger
        self._now = now
        self._verdicts: dict[str, Verdict] = {}
        self._mysql_failure: TransientError | None = None
        # Per user: the registration written and its outcome, or the exception that stopped it.
        self._written: dict[str, tuple[Registration, WriteOutcome | Exception]] = {}
        self._dead_lettered: SendResults = {}
        self._counts: Counter[str] = Counter()

    def prepare(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Validate all records, upsert MySQL, then write DynamoDB and the DLQ concurrently."""
        rejections: list[Rejection] = []
        for record in records:
            message_id = str(record.get("messageId"))
            verdict = parse_record(record, now=self._now)
            self._verdicts[message_id] = verdict
            if isinstance(verdict, ValidationError):
                body = record.get("body")
                rejections.append(
                    Rejection(message_id, body if isinstance(body, str) else "", verdict)
                )
        self._counts["received"] = len(records)
        newest = newest_per_user(v for v in self._verdicts.values() if isinstance(v, Registration))
        dead_letters = self._submit_dead_letters(rejections)
        if newest:
            self._write_stores(newest)
        if dead_letters is not None:
            self._dead_lettered = self._collect(dead_letters, rejections)

    def _write_stores(self, newest: list[Registration]) -> None:
        try:
            self._deadline.check("the MySQL upsert")
            self._counts["mysql_rows"] = self._resources.mysql.upsert(newest, self._deadline.check)
        except TransientError as failure:
            self._mysql_failure = failure
            self._logger.warning(
                "MySQL write failed; valid records will be retried",
                extra={"error": str(failure), "users": len(newest)},
            )
            return
        # boto3 clients are thread-safe; each write checks the deadline before it starts.
        outcomes = self._resources.pool.map(self._put, newest)
        self._written = {
            registration.user_id: (registration, outcome)
            for registration, outcome in zip(newest, outcomes, strict=True)
        }

    def _put(self, registration: Registration) -> WriteOutcome | Exception:
        """Runs on the pool: a failure is kept for that user's records, never lost in a thread."""
        try:
            self._deadline.check("the DynamoDB write")
            return self._resources.dynamodb.put(registration)
        except Exception as failure:  # re-raised for its records by handle_record
            return failure

    @staticmethod
    def _collect(sending: Future[SendResults], rejections: list[Rejection]) -> SendResults:
        try:
            return sending.result()
        except Exception as failure:  # re-raised for its records by handle_record
            return {rejection.source_message_id: failure for rejection in rejections}

    def _submit_dead_letters(self, rejections: list[Rejection]) -> Future[SendResults] | None:
        if not rejections:
            return None
        try:
            self._deadline.check("the DLQ send")
        except TimeBudgetExhaustedError as failure:
            future: Future[SendResults] = Future()
            future.set_result({rejection.source_message_id: failure for rejection in rejections})
            return future
        return self._resources.pool.submit(
            self._resources.dead_letters.send_all, rejections, self._deadline.check
        )

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
            raise StoreUnavailableError("record was not part of the prepared batch")
        if isinstance(verdict, ValidationError):
            return self._report_dead_letter(record, verdict)
        if self._mysql_failure is not None:
            raise StoreUnavailableError(f"not stored, MySQL write failed: {self._mysql_failure}")
        written, result = self._written[verdict.user_id]
        if isinstance(result, Exception):
            raise result
        # A record superseded by a newer one of the same user in this batch is stale by
        # definition; an equal version is the same registration delivered twice.
        outcome = result if written.version == verdict.version else WriteOutcome.STALE
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

    def _report_dead_letter(self, record: SQSRecord, rejection: ValidationError) -> str:
        sent = self._dead_lettered.get(record.message_id)
        if sent is None:
            raise StoreUnavailableError("rejected record was not sent to the DLQ")
        if isinstance(sent, Exception):
            raise sent
        self._counts["dead_lettered"] += 1
        self._logger.warning(
            "message rejected and sent to the DLQ",
            extra={
                "message_id": record.message_id,
                "failure_reason": rejection.reason.value,
                "failure_detail": rejection.detail,
                "dlq_message_id": sent,
            },
        )
        return "dead_lettered"
