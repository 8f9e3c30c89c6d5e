"""Queue-depth waits, against a scripted SQS stub (no server needed)."""

from __future__ import annotations

from typing import Any

from scripts.harness.messages import drain


class ScriptedQueue:
    """Answers GetQueueAttributes with the next (visible, in flight) pair, then the last one."""

    def __init__(self, *depths: tuple[int, int]) -> None:
        self.depths = list(depths)
        self.calls = 0

    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        visible, in_flight = self.depths[min(self.calls, len(self.depths) - 1)]
        self.calls += 1
        return {
            "Attributes": {
                "ApproximateNumberOfMessages": str(visible),
                "ApproximateNumberOfMessagesNotVisible": str(in_flight),
            }
        }


def test_wait_below_blocks_until_visible_plus_in_flight_drops_under_the_limit() -> None:
    queue = ScriptedQueue((900, 200), (700, 300), (650, 300))
    drain.wait_below(queue, "url", 1000, interval_s=0)
    assert queue.calls == 3


def test_wait_below_returns_at_once_under_the_limit() -> None:
    queue = ScriptedQueue((10, 5))
    drain.wait_below(queue, "url", 1000, interval_s=0)
    assert queue.calls == 1


def test_drained_needs_two_empty_readings() -> None:
    queue = ScriptedQueue((1, 0), (0, 0), (0, 0))
    assert drain.wait_drained(queue, "url", timeout_s=5, interval_s=0).empty
    assert queue.calls == 3
