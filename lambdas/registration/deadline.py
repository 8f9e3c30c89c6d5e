"""The invocation's time budget, so records are handed back to SQS instead of killed mid-write."""

from __future__ import annotations

from typing import Protocol

from registration.errors import TimeBudgetExhaustedError


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
