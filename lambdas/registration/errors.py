"""The handler's whole failure taxonomy: what is retried, and what goes to the DLQ with a reason.

Two families, decided by whether waiting can help:

* `TransientError` (store down, throttled, secret unreadable, DLQ send failed, no time left):
  the record becomes a batch item failure, SQS redelivers it after the visibility timeout, and
  the queue's redrive policy parks it in the DLQ if it keeps failing.
* `ValidationError` (the message itself can never be stored): the handler sends it to the DLQ
  with `FailureReason` as the ``failure_reason`` attribute and reports it handled, so it never
  burns retries against the database.
"""

from __future__ import annotations

from enum import StrEnum


class TransientError(Exception):
    """Something outside the message failed; a later delivery may succeed."""


class StoreUnavailableError(TransientError):
    """A store call failed; SQS redelivers the message and redrive ends it in the DLQ."""


class CredentialsError(StoreUnavailableError):
    """The database secret could not be read or has the wrong shape."""


class DeadLetterError(TransientError):
    """The DLQ send failed: the record is retried (and redriven if that keeps failing)."""


class TimeBudgetExhaustedError(TransientError):
    """Too little invocation time was left to start this write safely."""


class FailureReason(StrEnum):
    """Machine codes sent as the DLQ ``failure_reason`` attribute (see README.md)."""

    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    INVALID_VALUE = "invalid_value"
    INVALID_EMAIL = "invalid_email"
    INVALID_TIMESTAMP = "invalid_timestamp"
    OVERSIZED = "oversized"


class ValidationError(Exception):
    """The message can never be stored; retrying it cannot help."""

    def __init__(self, reason: FailureReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
