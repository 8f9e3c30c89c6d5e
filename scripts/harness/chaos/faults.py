"""The faults of a chaos run, injected at points of progress rather than at fixed times.

A fixed clock would hit an idle stack on a fast machine and miss the work on a slow one; tying
each fault to the share of messages already settled guarantees it lands mid-run at any N: the
database is SIGKILLed (no clean shutdown: in-flight statements die, connections reset) and
restarted `outage_s` later, then DynamoDB throttles for `throttle_s`.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from scripts.harness.chaos.fault_proxy import FaultProxy
from scripts.harness.stack import processes
from scripts.harness.stack.mariadb import MariaDBServer

POLL_S = 0.2


@dataclass
class FaultLog:
    """What was injected and when (seconds since the schedule started)."""

    events: list[str] = field(default_factory=list)
    database_down_s: float = 0.0
    error: str | None = None


class FaultSchedule(threading.Thread):
    """Kill the database at `kill_at` of `total` settled, throttle at `throttle_at`."""

    def __init__(
        self,
        *,
        progress: Callable[[], int],
        total: int,
        database: MariaDBServer,
        proxy: FaultProxy,
        outage_s: float,
        throttle_s: float,
        kill_at: float = 0.15,
        throttle_at: float = 0.5,
    ) -> None:
        super().__init__(name="chaos-faults", daemon=True)
        self._progress = progress
        self._total = total
        self._database = database
        self._proxy = proxy
        self._outage_s = outage_s
        self._throttle_s = throttle_s
        self._kill_at = kill_at
        self._throttle_at = throttle_at
        self._halt = threading.Event()
        self._origin = time.monotonic()
        self.log = FaultLog()

    def stop(self) -> None:
        """Stop waiting; always leave the database up and the throttle closed."""
        self._halt.set()
        self.join(timeout=self._outage_s + self._throttle_s + 60)
        self._proxy.throttle(False)
        if self._database.pid() is None:
            self._database.start(timeout_s=60)

    def run(self) -> None:
        try:
            if self._wait_for(self._kill_at):
                self._kill_database()
            if self._wait_for(self._throttle_at):
                self._note(f"DynamoDB throttling on for {self._throttle_s:.0f} s")
                self._proxy.throttle(True)
                self._halt.wait(self._throttle_s)
                self._proxy.throttle(False)
                self._note(f"DynamoDB throttling off ({self._proxy.injected} errors injected)")
        except Exception as err:  # reported by the run, which then fails
            self.log.error = f"{type(err).__name__}: {err}"

    def _kill_database(self) -> None:
        pid = self._database.pid()
        if pid is None:
            raise RuntimeError("MariaDB is not running: nothing to kill")
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        while processes.pid_alive(pid):
            time.sleep(0.01)
        self._note(f"MariaDB SIGKILLed (pid {pid}); restart in {self._outage_s:.0f} s")
        self._halt.wait(self._outage_s)
        self._database.start(timeout_s=60)
        self.log.database_down_s = time.monotonic() - killed
        self._note(f"MariaDB accepting connections again after {self.log.database_down_s:.1f} s")

    def _wait_for(self, fraction: float) -> bool:
        while not self._halt.is_set():
            if self._progress() >= fraction * self._total:
                return True
            time.sleep(POLL_S)
        return False

    def _note(self, text: str) -> None:
        line = f"[{time.monotonic() - self._origin:6.1f} s] {text}"
        self.log.events.append(line)
        print(f"chaos: {line}", flush=True)
