"""Failures that are worth retrying: they become SQS batch item failures, never DLQ sends."""

from __future__ import annotations


class TransientError(Exception):
    """Something outside the message failed (store down, throttled, out of time)."""


class StoreUnavailableError(TransientError):
    """A store call failed; SQS redelivers the message and redrive ends it in the DLQ."""


class TimeBudgetExhaustedError(TransientError):
    """Too little invocation time was left to start this write safely."""
