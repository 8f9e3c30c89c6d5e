"""The limits of a Lambda execution environment, applied to a local process tree.

Lambda gives every environment a hard memory limit (`MemorySize`), a CPU share proportional to
it (1 vCPU at 1,769 MB), a read-only `/var/task`, its own writable `/tmp` of the configured
ephemeral size, and freezes its processes between invocations. Locally each property is enforced
with the strongest mechanism the machine offers, detected once:

- memory: a cgroup (v1 `memory` or v2) with the limit; otherwise an RSS watchdog (`Watchdog`)
  that kills the runtime at the limit, as the cgroup's OOM killer would, with `RLIMIT_DATA` at
  twice the limit as a backstop;
- CPU: a CFS quota in a cgroup (v1 `cpu` or v2), only in fidelity mode; nothing otherwise;
- file system: a private mount namespace (`unshare -m`, root only) with the code bind-mounted
  read-only on `/var/task` and a tmpfs of the ephemeral size on `/tmp`; otherwise the code stays
  writable and `TMPDIR` points at a per-environment directory (no size limit);
- freeze: SIGSTOP/SIGCONT of the runtime's process group (RIE starts it with its own group).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
TASK_ROOT = "/var/task"
# Where directories under the host's /tmp wait while the sandbox's own /tmp is mounted.
KEEP_ROOT = "/var/lambda-keep"
# Lambda allocates CPU in proportion to memory: one full vCPU at 1,769 MB.
MB_PER_VCPU = 1769
CFS_PERIOD_US = 100_000
WATCHDOG_INTERVAL_S = 0.02
MIB = 1024 * 1024
CGROUP_PREFIX = "lambda-env-"


@dataclass(frozen=True)
class Capabilities:
    """What this machine lets the harness enforce."""

    cgroup_version: int | None  # 1, 2 or None (no writable memory controller)
    mount_namespace: bool


def _current_cgroup_v1(controller: str) -> Path | None:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return CGROUP_ROOT / controller / path.lstrip("/")
    return None


def _current_cgroup_v2() -> Path:
    """This process's cgroup in the unified (v2) hierarchy ("0::/a/b" in /proc/self/cgroup)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            return CGROUP_ROOT / line[3:].strip().lstrip("/")
    return CGROUP_ROOT


def _writable(directory: Path | None) -> bool:
    return directory is not None and directory.is_dir() and os.access(directory, os.W_OK)


@cache
def capabilities() -> Capabilities:
    version: int | None = None
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        parent = _current_cgroup_v2()
        # v2 lets a child limit memory only where the parent delegates the controller.
        if _writable(parent) and "memory" in (parent / "cgroup.subtree_control").read_text():
            version = 2
    elif _writable(_current_cgroup_v1("memory")):
        version = 1
    namespace = os.geteuid() == 0 and shutil.which("unshare") is not None
    return Capabilities(cgroup_version=version, mount_namespace=namespace)


def cpu_quota_us(memory_mb: int) -> int:
    """The CFS quota per period that gives Lambda's CPU share for `memory_mb`."""
    return max(1000, CFS_PERIOD_US * memory_mb // MB_PER_VCPU)


class Cgroup:
    """The cgroups of one environment's runtime: its memory (and optionally CPU) limits."""

    def __init__(self, version: int, memory_mb: int, cpu_fidelity: bool) -> None:
        # Named after the harness, so a later harness can remove what a killed one left behind.
        name = f"{CGROUP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.version = version
        limit = memory_mb * MIB
        if version == 2:
            parent = _current_cgroup_v2()
            remove_orphans(parent)
            self._dirs = [parent / name]
            self._dirs[0].mkdir()
            (self._dirs[0] / "memory.max").write_text(str(limit))
            with contextlib.suppress(OSError):  # absent when swap accounting is off
                (self._dirs[0] / "memory.swap.max").write_text("0")
            if cpu_fidelity and "cpu" in (parent / "cgroup.subtree_control").read_text().split():
                (self._dirs[0] / "cpu.max").write_text(f"{cpu_quota_us(memory_mb)} {CFS_PERIOD_US}")
            return
        memory = _current_cgroup_v1("memory")
        assert memory is not None
        remove_orphans(memory)
        self._dirs = [memory / name]
        self._dirs[0].mkdir()
        (self._dirs[0] / "memory.limit_in_bytes").write_text(str(limit))
        with contextlib.suppress(OSError):  # absent when swap accounting is off
            (self._dirs[0] / "memory.memsw.limit_in_bytes").write_text(str(limit))
        cpu = _current_cgroup_v1("cpu")
        if cpu_fidelity and _writable(cpu):
            assert cpu is not None
            remove_orphans(cpu)
            self._dirs.append(cpu / name)
            self._dirs[1].mkdir()
            (self._dirs[1] / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
            (self._dirs[1] / "cpu.cfs_quota_us").write_text(str(cpu_quota_us(memory_mb)))

    @property
    def procs_files(self) -> list[str]:
        """Where the runtime writes its pid to join (before it execs Python)."""
        return [str(directory / "cgroup.procs") for directory in self._dirs]

    def peak_memory_mb(self) -> int:
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        with contextlib.suppress(OSError, ValueError):
            return int((self._dirs[0] / name).read_text()) // MIB
        return 0

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer ended in this cgroup."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        for line in (self._dirs[0] / name).read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def remove(self) -> None:
        """Delete the cgroups (retrying while the killed processes finish exiting)."""
        for directory in self._dirs:
            for _ in range(200):
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)


def remove_orphans(parent: Path) -> None:
    """Remove the cgroups of harnesses that are gone (killed before they could clean up)."""
    for directory in parent.glob(f"{CGROUP_PREFIX}*"):
        owner = directory.name.removeprefix(CGROUP_PREFIX).split("-", 1)[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            with contextlib.suppress(OSError):  # still in use, or removed by another harness
                directory.rmdir()


def runtime_pids(parent_pid: int) -> list[int]:
    """The emulator's children that lead their own process group: the runtime (RIE starts it
    with Setpgid), not a helper that shares the emulator's group."""
    pids: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{parent_pid}/task").iterdir():
            with contextlib.suppress(OSError):
                pids += [int(pid) for pid in (task / "children").read_text().split()]
    leaders = []
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(pid) == pid:
                leaders.append(pid)
    return leaders


def signal_groups(pids: Sequence[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signum)


def rss_mb(pid: int, field: str = "VmRSS") -> int:
    """A process's resident (VmRSS) or peak resident (VmHWM) memory; 0 once it is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    return 0


class Watchdog:
    """Without a memory cgroup: SIGKILL the runtime when its RSS passes the limit."""

    def __init__(self, parent_pid: int, limit_mb: int) -> None:
        self._parent_pid = parent_pid
        self._limit_mb = limit_mb
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.killed = False
        self.peak_mb = 0

    def __enter__(self) -> Watchdog:
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(WATCHDOG_INTERVAL_S):
            for pid in runtime_pids(self._parent_pid):
                self.peak_mb = max(self.peak_mb, rss_mb(pid, "VmHWM"))
                if rss_mb(pid) > self._limit_mb:
                    self.killed = True
                    signal_groups([pid], signal.SIGKILL)


def mount_namespace_command(
    code_dir: Path, ephemeral_mb: int, command: Sequence[str], keep: Sequence[Path] = ()
) -> list[str]:
    """`command` in a private mount namespace with Lambda's file system layout.

    The code is bind-mounted read-only on /var/task before the tmpfs hides the host's /tmp (the
    extracted code usually lives there); the tmpfs lives as long as the namespace, that is, as
    long as the environment. `keep` are directories under the host's /tmp the runtime itself
    needs (a checkout under /tmp holds its .venv-runtime there): they are parked on
    /var/lambda-keep/<n> and bound back at their own path inside the new /tmp.
    """
    parked = [f"{KEEP_ROOT}/{n}" for n in range(len(keep))]
    park = "".join(
        f' && mkdir -p {spot} && mount --bind "${{{n + 3}}}" {spot}'
        for n, spot in enumerate(parked)
    )
    restore = "".join(
        f' && mkdir -p "${{{n + 3}}}" && mount --bind {spot} "${{{n + 3}}}"'
        for n, spot in enumerate(parked)
    )
    script = (
        f'mkdir -p {TASK_ROOT} && mount --bind -o ro "$1" {TASK_ROOT}{park}'
        f' && mount -t tmpfs -o "size=$2m,mode=1777" lambda-tmp /tmp{restore}'
        f' && cd {TASK_ROOT} && shift {2 + len(keep)} && exec "$@"'
    )
    # Arguments, not variables: RIE hands its whole environment on to the function.
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "/bin/sh",
        "-c",
        script,
        "lambda-sandbox",
        str(code_dir),
        str(ephemeral_mb),
        *(str(path) for path in keep),
        *command,
    ]


def bootstrap_command(
    python: str, handler: str, procs_files: Sequence[str], data_limit_mb: int | None
) -> list[str]:
    """The runtime's command for RIE: join the cgroups, cap memory if no cgroup, exec awslambdaric.

    RIE takes the last argument as the handler, so the handler is `$0` of the shell script.
    """
    steps = [f'echo $$ > "{path}"' for path in procs_files]
    if data_limit_mb is not None:
        steps.append(f"ulimit -d {data_limit_mb * 1024}")
    steps.append(f'exec "{python}" -m awslambdaric "$0"')
    return ["/bin/sh", "-c", " && ".join(steps), handler]
