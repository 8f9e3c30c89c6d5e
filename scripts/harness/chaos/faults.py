"""The faults of a chaos run, opened at points of progress and closed by counts, never by a clock.

A fixed clock would hit an idle stack on a fast machine and miss the work on a slow one. So each
fault opens at a share of the messages already settled, which lands it mid-run at any N, and
stays open until enough traffic has hit it: the database is SIGKILLed (no clean shutdown:
in-flight statements die, connections reset) and restarted only once `database_failures` records
have failed against it; DynamoDB then throttles until `throttled_requests` calls were refused.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from scripts.harness.chaos.fault_proxy import Fault, FaultProxy
from scripts.harness.stack import processes
from scripts.harness.stack.mariadb import MariaDBServer

POLL_S = 0.2
DATABASE_START_TIMEOUT_S = 60


@dataclass(frozen=True)
class FaultPlan:
    """When each fault opens (share of messages settled) and how much traffic closes it."""

    database_failures: int = 40  # records handed back to SQS while MariaDB is down
    throttled_requests: int = 60  # DynamoDB calls answered with throttling errors
    kill_at: float = 0.15
    throttle_at: float = 0.5


@dataclass
class FaultLog:
    """What was injected and when (seconds since the schedule started)."""

    events: list[str] = field(default_factory=list)
    database_down_s: float = 0.0
    database_failures: int = 0
    error: str | None = None


class FaultSchedule(threading.Thread):
    """Kill the database at `plan.kill_at` of `total` settled, throttle at `plan.throttle_at`.

    `settled` and `failed` read the runner's counters: messages deleted, records handed back.
    """

    def __init__(
        self,
        *,
        settled: Callable[[], int],
        failed: Callable[[], int],
        total: int,
        database: MariaDBServer,
        proxy: FaultProxy,
        plan: FaultPlan,
    ) -> None:
        super().__init__(name="chaos-faults", daemon=True)
        self._settled = settled
        self._failed = failed
        self._total = total
        self._database = database
        self._proxy = proxy
        self._plan = plan
        self._halt = threading.Event()
        self._origin = time.monotonic()
        self.log = FaultLog()

    def stop(self) -> None:
        """Stop waiting; always leave the database up and DynamoDB answering."""
        self._halt.set()
        self.join(timeout=DATABASE_START_TIMEOUT_S + 10)
        self._proxy.close()
        if self._database.pid() is None:
            self._database.start(timeout_s=DATABASE_START_TIMEOUT_S)

    def run(self) -> None:
        try:
            if self._wait_until(lambda: self._settled() >= self._plan.kill_at * self._total):
                self._database_outage()
            if self._wait_until(lambda: self._settled() >= self._plan.throttle_at * self._total):
                self._throttle()
        except Exception as err:  # reported by the run, which then fails
            self.log.error = f"{type(err).__name__}: {err}"

    def _database_outage(self) -> None:
        pid = self._database.pid()
        if pid is None:
            raise RuntimeError("MariaDB is not running: nothing to kill")
        failed_before = self._failed()
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        while processes.pid_alive(pid):
            time.sleep(0.01)
        wanted = self._plan.database_failures
        self._note(f"MariaDB SIGKILLed (pid {pid}); restart after {wanted} failed records")
        if not self._wait_until(lambda: self._failed() - failed_before >= wanted):
            return
        self.log.database_failures = self._failed() - failed_before
        self._database.start(timeout_s=DATABASE_START_TIMEOUT_S)
        self.log.database_down_s = time.monotonic() - killed
        self._note(
            f"MariaDB accepting connections again after {self.log.database_down_s:.1f} s "
            f"({self.log.database_failures} records failed meanwhile)"
        )

    def _throttle(self) -> None:
        wanted = self._plan.throttled_requests
        self._note(f"DynamoDB throttling on until {wanted} requests were refused")
        closed = self._proxy.open(Fault.THROTTLE, requests=wanted)
        while not closed.wait(POLL_S):
            if self._halt.is_set():
                return
        self._note("DynamoDB throttling off")

    def _wait_until(self, condition: Callable[[], bool]) -> bool:
        """Poll `condition`; False if the schedule was stopped first."""
        while not self._halt.is_set():
            if condition():
                return True
            time.sleep(POLL_S)
        return False

    def _note(self, text: str) -> None:
        line = f"[{time.monotonic() - self._origin:6.1f} s] {text}"
        self.log.events.append(line)
        print(f"chaos: {line}", flush=True)
