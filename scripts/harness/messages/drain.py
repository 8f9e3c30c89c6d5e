"""Wait until a queue is drained: nothing visible, nothing in flight, nothing delayed.

"In flight" (ApproximateNumberOfMessagesNotVisible) covers both batches being processed and
failed messages waiting out their visibility timeout, so a drained queue means every message was
deleted or redriven. The counts are approximate on AWS, hence two zero readings in a row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

COUNT_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@dataclass(frozen=True)
class QueueDepth:
    visible: int
    in_flight: int
    delayed: int

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed

    @property
    def empty(self) -> bool:
        return self.visible == self.in_flight == self.delayed == 0

    def __str__(self) -> str:
        return f"{self.visible} visible, {self.in_flight} in flight, {self.delayed} delayed"


def depth(sqs: Any, queue_url: str) -> QueueDepth:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=list(COUNT_ATTRIBUTES)
    )["Attributes"]
    visible, in_flight, delayed = (int(attributes.get(name, 0)) for name in COUNT_ATTRIBUTES)
    return QueueDepth(visible, in_flight, delayed)


def wait_drained(
    sqs: Any,
    queue_url: str,
    *,
    timeout_s: float,
    interval_s: float = 0.5,
    on_poll: Callable[[QueueDepth], None] | None = None,
) -> QueueDepth:
    """Poll until drained (twice in a row) or `timeout_s`; returns the last depth seen."""
    deadline = time.monotonic() + timeout_s
    zero_readings = 0
    while True:
        current = depth(sqs, queue_url)
        if on_poll is not None:
            on_poll(current)
        zero_readings = zero_readings + 1 if current.empty else 0
        if zero_readings >= 2 or time.monotonic() >= deadline:
            return current
        time.sleep(interval_s)


def wait_below(sqs: Any, queue_url: str, limit: int, *, interval_s: float = 0.5) -> None:
    """Block while the queue holds `limit` or more messages: a producer's back-pressure."""
    while depth(sqs, queue_url).total >= limit:
        time.sleep(interval_s)
