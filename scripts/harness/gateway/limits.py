"""Stage and usage-plan limits as API Gateway applies them: token buckets and a daily quota.

API Gateway throttles with a token bucket per scope (the stage's method settings, and each API
key's usage plan): `burst` tokens at most, refilled at `rate` per second. A usage plan's quota
counts the requests a key made since the start of the period (UTC day).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime


class TokenBucket:
    """Thread-safe token bucket; `take()` is False when the request must be throttled."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = max(burst, 1)
        self._clock = clock
        self._tokens = float(self._burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True


class DailyQuota:
    """Requests per key per UTC day; `take()` is False once the day's limit is used up."""

    def __init__(self, limit: int, today: Callable[[], date] = lambda: datetime.now(UTC).date()):
        self._limit = limit
        self._today = today
        self._counts: dict[tuple[str, date], int] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> bool:
        with self._lock:
            slot = (key, self._today())
            used = self._counts.get(slot, 0)
            if used >= self._limit:
                return False
            self._counts[slot] = used + 1
            return True
