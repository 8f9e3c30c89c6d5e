"""How many concurrent batches an SQS mapping runs: Lambda's documented poller scaling.

"Lambda begins polling with five concurrent batches ... If messages are still available, Lambda
increases the number of processes reading batches by up to 300 more instances per minute",
up to the mapping's MaximumConcurrency (at most 1,000 batches, and the function's reserved
concurrency), but not while invocations fail; when traffic is low it "scales back the processing
to five concurrent batches" ("Configuring scaling behavior for SQS event source mappings"). One
poller is one concurrency slot here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

INITIAL_POLLERS = 5
SCALE_UP_PER_MINUTE = 300


class Scaler:
    """Decides, thread-safely, when a poller may be added and when one should stop."""

    def __init__(
        self,
        maximum: int,
        *,
        initial: int = INITIAL_POLLERS,
        per_minute: int = SCALE_UP_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.maximum = max(1, maximum)
        self.initial = min(initial, self.maximum)
        self._interval_s = 60.0 / per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._active = 0
        self.peak = 0  # the most pollers that ran at once (status output, tests)
        self._last_growth = clock()

    @property
    def active(self) -> int:
        with self._lock:
            return self._active

    def start_initial(self) -> int:
        """Claim the first slots; returns how many pollers to start."""
        with self._lock:
            added = max(0, self.initial - self._active)
            self._active += added
            self.peak = max(self.peak, self._active)
            self._last_growth = self._clock()
            return added

    def try_grow(self) -> bool:
        """A poller found a full queue: claim one more slot if the rate and the maximum allow."""
        with self._lock:
            now = self._clock()
            if self._active >= self.maximum or now - self._last_growth < self._interval_s:
                return False
            self._active += 1
            self.peak = max(self.peak, self._active)
            # Keep to the rate even when the checks come late, without saving up a burst.
            self._last_growth = max(self._last_growth + self._interval_s, now - self._interval_s)
            return True

    def try_retire(self) -> bool:
        """A poller found the queue empty: it stops if more than the initial pollers run."""
        with self._lock:
            if self._active <= self.initial:
                return False
            self._active -= 1
            return True
