"""Background servers without systemd: pidfiles, free ports, readiness waits, clean stops.

Shared by `scripts.stores`, the test session fixtures and the local stack, so every one of them
starts, finds and stops the same processes the same way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class ServerError(RuntimeError):
    """A server could not be started or stopped; the message says what to look at."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_open(host: str, port: int, timeout_s: float = 0.2) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout_s):
        return True
    return False


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie.

    A server started by an earlier command is not our child, and in containers whose PID 1
    does not reap orphans it stays a zombie after exiting; /proc tells the two apart.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(ChildProcessError):
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True  # No procfs: trust kill(0).
    return state not in {"Z", "X"}


def read_pid(pidfile: Path) -> int | None:
    """The pid recorded in ``pidfile`` if that process still runs, else None."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def spawn(command: Sequence[str], *, log_path: Path, pidfile: Path) -> int:
    """Start ``command`` detached (own session, output to ``log_path``) and record its pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    pidfile.write_text(f"{process.pid}\n")
    return process.pid


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout_s: float,
    pid: int | None = None,
    what: str,
    log_path: Path | None = None,
) -> None:
    """Poll ``ready`` until true; fail early if ``pid`` dies, with the log's tail as the reason."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        if pid is not None and not pid_alive(pid):
            raise ServerError(f"{what} exited during startup{_log_tail(log_path)}")
        time.sleep(0.05)
    raise ServerError(f"{what} not ready after {timeout_s:.0f} s{_log_tail(log_path)}")


def stop(pidfile: Path, *, timeout_s: float = 10.0) -> int | None:
    """SIGTERM the recorded process (SIGKILL after ``timeout_s``); returns the pid it stopped."""
    pid = read_pid(pidfile)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)
    return pid


def _log_tail(log_path: Path | None, lines: int = 15) -> str:
    if log_path is None or not log_path.is_file():
        return ""
    tail = log_path.read_text(errors="replace").splitlines()[-lines:]
    return f"; last lines of {log_path}:\n" + "\n".join(tail) if tail else ""
