"""Run a handler from an extracted zip the way Lambda's python3.12 runtime does.

One `LambdaProcess` is one execution environment: AWS's Runtime Interface Emulator (RIE, built by
`make tools`) serves the Runtime API, and the function side is `awslambdaric` on CPython 3.12
with the boto3/botocore of Lambda's python3.12 runtime (the `.venv-runtime` of `make runtime`),
the pair AWS's own python base images use. RIE starts the runtime, enforces the timeout, retries
a failed init inside the invoke and restarts a runtime that crashed or timed out; this module adds
what RIE leaves to the orchestrator: one RIE per environment (RIE serves one invoke at a time),
the sandbox of `sandbox.py` (memory, CPU, read-only task root, private /tmp, freeze between
invocations), measured memory, and the logs split per invocation.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from scripts.harness.lambda_local import sandbox
from scripts.harness.lambda_local.logs import stream_name
from scripts.harness.stack import toolchain

REPO_ROOT = Path(__file__).resolve().parents[3]
RUNTIME_VENV = REPO_ROOT / ".venv-runtime"
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_EPHEMERAL_MB = 512
RIE_START_TIMEOUT_S = 10.0
# RIE's own invoke timeout decides; ours only catches an emulator that stopped answering.
HTTP_GRACE_S = 15.0
# RIE's own log lines ("30 Nov 2026 13:45:08,662 [INFO] (rapid) INIT REPORT(…)").
RAPID_LINE = re.compile(r"^\d\d \w{3} \d{4} [\d:,]+ \[\w+\] \(rapid\) ")
INIT_REPORT = re.compile(r"\(rapid\) INIT REPORT\(durationMs: ([0-9.]+)\)")
# Lambda gives an on-demand function's init phase 10 s; RIE has no such limit of its own.
INIT_TIMEOUT_S = 10.0
INIT_DONE = re.compile(r"\(rapid\) INIT (RTDONE|REPORT)")
RIE_LINE = re.compile(r"^(START|END|REPORT) RequestId: ")
INVOKE_PATH = "/2015-03-31/functions/function/invocations"


class RuntimeUnavailableError(RuntimeError):
    """The runtime's virtualenv or the emulator is missing, or the emulator would not start."""


@dataclass(frozen=True)
class FunctionSpec:
    """What the execution environment needs; mirrors the function's Lambda configuration."""

    code_dir: Path
    handler: str = "registration.app.lambda_handler"
    function_name: str = "registration"
    version: str = "$LATEST"
    memory_mb: int = 256
    timeout_s: float = 30.0
    region: str = "us-east-1"
    account_id: str = DEFAULT_ACCOUNT_ID
    environment: Mapping[str, str] = field(default_factory=dict)
    ephemeral_storage_mb: int = DEFAULT_EPHEMERAL_MB
    log_format: str = "Text"  # LoggingConfig.LogFormat: Text or JSON
    application_log_level: str | None = None  # LoggingConfig.ApplicationLogLevel (JSON only)
    # A CPU quota proportional to memory, as on AWS (slower: for deadline and chaos tests).
    cpu_fidelity: bool = False

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"


@dataclass(frozen=True)
class InvocationResult:
    request_id: str
    response: Any
    error: dict[str, Any] | None
    records: list[LogRecord]  # the invoke's output (a traceback is one record, as on AWS)
    duration_ms: float
    init_duration_ms: float | None  # set when this invoke ran an init (cold start or restart)
    max_memory_used_mb: int
    timed_out: bool = False
    init_records: list[LogRecord] = field(default_factory=list)  # the init's output, if any

    @property
    def failed(self) -> bool:
        """A function error (unhandled exception, init failure, crash, timeout or OOM)."""
        return self.error is not None

    @property
    def log_lines(self) -> list[str]:
        return [record.text for record in self.records]

    @property
    def init_log_lines(self) -> list[str]:
        return [record.text for record in self.init_records]

    @property
    def logs(self) -> str:
        """Everything the function printed (init first), one line per record."""
        return "".join(r.text + "\n" for r in [*self.init_records, *self.records])


def runtime_python() -> Path:
    # The virtualenv's real directory (a symlinked checkout must not hide it inside the sandbox),
    # but its own bin/python: the interpreter finds its pyvenv.cfg from there.
    python = RUNTIME_VENV.resolve() / "bin" / "python"
    if not python.exists():
        raise RuntimeUnavailableError(f"{python} is missing: run `make runtime`")
    return python


def runtime_site_packages() -> Path:
    """The runtime's own packages (awslambdaric, boto3): Lambda's /var/runtime."""
    return next((RUNTIME_VENV / "lib").glob("python3*/site-packages"))


def runtime_version() -> str:
    """The runtime interpreter's `major.minor`, from its virtualenv's pyvenv.cfg."""
    for line in (RUNTIME_VENV / "pyvenv.cfg").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("version", "version_info"):
            return ".".join(value.strip().split(".")[:2])
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def rie_binary() -> Path:
    binary = toolchain.rie_binary()
    if not binary.exists():
        raise RuntimeUnavailableError(f"{binary} is missing: run `make runtime`")
    return binary


def lambda_environment(spec: FunctionSpec, task_root: str, log_stream: str) -> dict[str, str]:
    """The function's variables plus what Lambda itself sets (which the function cannot change).

    RIE passes its whole environment on to the runtime, so this is RIE's environment too;
    AWS_LAMBDA_FUNCTION_TIMEOUT is the one variable only RIE needs.
    """
    reserved = {
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(max(1, math.ceil(spec.timeout_s))),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{runtime_version()}",
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": str(runtime_site_packages()),
        "_HANDLER": spec.handler,
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "PYTHONUNBUFFERED": "1",
    }
    if spec.log_format.upper() == "JSON":
        reserved["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        if spec.application_log_level:
            reserved["AWS_LAMBDA_LOG_LEVEL"] = spec.application_log_level.upper()
    if os.environ.get("AWS_SESSION_TOKEN"):
        reserved["AWS_SESSION_TOKEN"] = os.environ["AWS_SESSION_TOKEN"]
    return {**spec.environment, **reserved}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class LogRecord:
    """One line of output and when it arrived (CloudWatch stamps each event on its own)."""

    at: datetime
    text: str


class LineReader:
    """Collects a pipe's lines with their arrival time, in a thread (the pipe never fills up).

    Marks count lines from the start; `forget` drops what was consumed, so a warm environment's
    memory does not grow with its invocations.
    """

    def __init__(self, pipe: IO[bytes]) -> None:
        self._lines: list[LogRecord] = []
        self._forgotten = 0
        self._arrived = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: IO[bytes]) -> None:
        with pipe:
            for raw in pipe:
                record = LogRecord(datetime.now(UTC), raw.decode("utf-8", "replace").rstrip("\n"))
                with self._arrived:
                    self._lines.append(record)
                    self._arrived.notify_all()

    def mark(self) -> int:
        with self._arrived:
            return self._forgotten + len(self._lines)

    def since(self, mark: int) -> list[LogRecord]:
        with self._arrived:
            return self._lines[max(0, mark - self._forgotten) :]

    def forget(self, mark: int) -> None:
        with self._arrived:
            drop = max(0, mark - self._forgotten)
            del self._lines[:drop]
            self._forgotten += drop

    def wait_for(self, pattern: re.Pattern[str], mark: int, timeout_s: float) -> bool:
        """Until a line from `mark` on matches (True) or the timeout (False)."""
        with self._arrived:
            return self._arrived.wait_for(
                lambda: any(pattern.search(r.text) for r in self.since(mark)), timeout_s
            )

    def join(self) -> None:
        self._thread.join(timeout=5)


def function_records(records: list[LogRecord]) -> list[LogRecord]:
    """The function's log records from RIE's output, without RIE's own lines.

    awslambdaric, writing to stdout instead of Lambda's telemetry pipe, joins a multi-line record
    (a traceback) with carriage returns; restoring the newlines keeps it one record, as on AWS.
    """
    return [
        LogRecord(r.at, r.text.replace("\r", "\n"))
        for r in records
        if r.text and not RIE_LINE.match(r.text) and not RAPID_LINE.match(r.text)
    ]


def classify(status: int, body: bytes, request_id: str) -> tuple[Any, dict[str, Any] | None]:
    """(response, error) from RIE's HTTP answer.

    RIE answers a function error with 200 and awslambdaric's error document (which carries our
    request id); a crash or failed init with 502 and RIE's or awslambdaric's document.
    """
    text = body.decode("utf-8", errors="replace")
    try:
        document = json.loads(text) if text else None
    except ValueError:
        document = None
    if status == 200:
        if (
            isinstance(document, dict)
            and {"errorType", "errorMessage"} <= document.keys()
            and document.get("requestId") == request_id
        ):
            return None, document
        return document, None
    if isinstance(document, dict) and "errorType" in document:
        return None, document
    return None, {"errorType": "Runtime.Unknown", "errorMessage": text or f"HTTP {status}"}


class LambdaProcess:
    """One warm execution environment: an RIE and its runtime, in a sandbox, frozen when idle."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self.log_stream_name = stream_name(datetime.now(UTC), spec.version)
        self._capabilities = sandbox.capabilities()
        self._workdir = Path(tempfile.mkdtemp(prefix="lambda-env-"))
        # RIE's stdout and stderr in one pipe: its log and the function's output, in the order
        # they happened (the runtime prints before it calls RIE back, so the init's output
        # comes before RIE's "INIT RTDONE" and the invoke's before "END").
        self._output: LineReader | None = None
        self._rie: subprocess.Popen[bytes] | None = None
        self._port = 0
        self._cgroup: sandbox.Cgroup | None = None
        self._first_init = True  # the next invoke runs the environment's init phase
        self._lifeline: int | None = None  # write end of the pipe the environment watches

    def __enter__(self) -> LambdaProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def invoke(self, event: Any, *, request_id: str | None = None) -> InvocationResult:
        request_id = request_id or str(uuid.uuid4())
        if self._rie is None:
            self._start()
        assert self._output is not None
        mark = self._output.mark()
        oom_kills = self._cgroup.oom_kills() if self._cgroup else 0
        self._signal_runtime(signal.SIGCONT)
        init_timed_out = self._limit_first_init(mark)
        started = time.perf_counter()
        with self._memory_watch() as watchdog:
            status, body = self._post(event, request_id)
            if init_timed_out.is_set() and status == 502:
                # RIE fails the invoke whose init was stopped; AWS retries the init within it.
                status, body = self._post(event, request_id)
        elapsed_ms = (time.perf_counter() - started) * 1000
        init_records, records, init_ms = self._collect_output(
            request_id, status, mark, init_timed_out.is_set()
        )
        timed_out = status == 0 or (status == 200 and body.startswith(b"Task timed out after"))
        if timed_out:
            text = body.decode() if status else "the emulator stopped answering"
            response, error = None, {"errorType": "Sandbox.Timedout", "errorMessage": text}
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            records.append(LogRecord(datetime.now(UTC), f"{stamp} {request_id} {text}"))
        else:
            response, error = classify(status, body, request_id)
        if (watchdog is not None and watchdog.killed) or (
            self._cgroup is not None and self._cgroup.oom_kills() > oom_kills
        ):
            response, error = (
                None,
                {
                    "errorType": "Runtime.OutOfMemory",
                    "errorMessage": (
                        f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
                    ),
                },
            )
        max_memory = self._peak_memory_mb(watchdog)
        if status == 0:
            self._kill()  # Lambda replaces an environment it cannot reach.
        else:
            self._signal_runtime(signal.SIGSTOP)
        return InvocationResult(
            request_id=request_id,
            response=response,
            error=error,
            records=records,
            duration_ms=max(0.0, elapsed_ms - (init_ms or 0.0)),
            init_duration_ms=init_ms,
            max_memory_used_mb=max_memory,
            timed_out=timed_out,
            init_records=init_records,
        )

    def _collect_output(
        self, request_id: str, status: int, mark: int, init_timed_out: bool
    ) -> tuple[list[LogRecord], list[LogRecord], float | None]:
        """(the init's output, the invoke's output, Init Duration) of this invoke."""
        assert self._output is not None
        # RIE prints its REPORT after the function's output and before it answers, except
        # when the runtime died (then a short wait collects whatever it printed).
        report = re.compile(f"^REPORT RequestId: {re.escape(request_id)}")
        self._output.wait_for(report, mark, 1.0 if status == 200 else 0.2)
        lines = self._output.since(mark)
        self._output.forget(mark + len(lines))
        init_ms, init_end = None, 0
        for index, record in enumerate(lines):
            match = INIT_REPORT.search(record.text)
            if match:  # the last init counts: a retried init reports twice
                init_ms, init_end = float(match.group(1)), index
        init_records = function_records(lines[:init_end])
        records = function_records(lines[init_end:])
        if init_timed_out:
            # As on AWS: the init phase's report, then the init again inside the invoke.
            report_line = f"INIT_REPORT Init Duration: {INIT_TIMEOUT_S * 1000:.2f} ms"
            init_records.insert(
                0, LogRecord(datetime.now(UTC), f"{report_line}\tPhase: init\tStatus: timeout")
            )
        return init_records, records, init_ms

    def close(self) -> None:
        self._kill()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def _start(self) -> None:
        capabilities = self._capabilities
        if capabilities.cgroup_version is not None:
            self._cgroup = sandbox.Cgroup(
                capabilities.cgroup_version, self.spec.memory_mb, self.spec.cpu_fidelity
            )
        bootstrap = sandbox.bootstrap_command(
            str(runtime_python()),
            self.spec.handler,
            self._cgroup.procs_files if self._cgroup else [],
            # Without a cgroup the watchdog enforces the limit; the rlimit is only a backstop
            # against an allocation too fast to watch (it raises MemoryError, not an OOM kill).
            None if self._cgroup else 2 * self.spec.memory_mb,
        )
        self._port = free_port()
        command = [
            str(rie_binary()),
            "--log-level",
            "info",
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{self._port}",
            "--runtime-api-address",
            f"127.0.0.1:{free_port()}",
            *bootstrap,
        ]
        # The sandbox's tmpfs hides the host's /tmp: a runtime installed there is kept visible.
        host_tmp = Path("/tmp")  # noqa: S108 - the path the sandbox mounts over, not a temp file
        needed = {RUNTIME_VENV.resolve(), rie_binary().resolve().parent}
        keep = sorted(p for p in needed if host_tmp in p.parents)
        if capabilities.mount_namespace:
            task_root = sandbox.TASK_ROOT
            command = sandbox.mount_namespace_command(
                self.spec.code_dir, self.spec.ephemeral_storage_mb, command, keep
            )
            cwd = Path("/")
            environment = lambda_environment(self.spec, task_root, self.log_stream_name)
        else:
            task_root = str(self.spec.code_dir)
            cwd = self.spec.code_dir
            tmp = self._workdir / "tmp"
            tmp.mkdir(exist_ok=True)
            environment = {
                **lambda_environment(self.spec, task_root, self.log_stream_name),
                "TMPDIR": str(tmp),
            }
        # The environment dies with the harness: a child of RIE's shell holds the read end of a
        # pipe only we write to, and kills RIE's process group when it reads EOF (our exit, a
        # SIGKILL included); the runtime, orphaned while frozen, then gets the kernel's SIGHUP.
        lifeline, self._lifeline = os.pipe()
        os.set_inheritable(lifeline, True)
        watcher = f'(cat <&{lifeline} >/dev/null; kill -KILL 0) & exec "$@"'
        try:
            self._rie = subprocess.Popen(
                ["/bin/sh", "-c", watcher, "lambda-environment", *command],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=cwd,
                pass_fds=(lifeline,),
                start_new_session=True,
            )
        finally:
            os.close(lifeline)
        assert self._rie.stdout is not None
        self._output = LineReader(self._rie.stdout)
        self._first_init = True
        self._wait_until_listening()

    def _limit_first_init(self, mark: int) -> threading.Event:
        """Stop an environment's init phase that outlives INIT_TIMEOUT_S (the returned event is
        set then): RIE inits again in the invoke phase, which only the function timeout limits."""
        timed_out = threading.Event()
        if not self._first_init:
            return timed_out
        self._first_init = False
        output = self._output
        assert output is not None

        def limit() -> None:
            if not output.wait_for(INIT_DONE, mark, INIT_TIMEOUT_S):
                timed_out.set()
                self._signal_runtime(signal.SIGKILL)

        threading.Thread(target=limit, daemon=True).start()
        return timed_out

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + RIE_START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self._rie is not None
            if self._rie.poll() is not None:
                break
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self._port), timeout=0.2),
            ):
                return
            time.sleep(0.02)
        self._kill()
        output = self._output.since(0) if self._output else []
        raise RuntimeUnavailableError(
            f"the Runtime Interface Emulator did not start: {output[-1].text if output else '?'}"
        )

    def _post(self, event: Any, request_id: str) -> tuple[int, bytes]:
        """(HTTP status, body), or (0, b"") when the emulator did not answer in time."""
        trace_id = f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Sampled=0"
        request = urllib.request.Request(
            f"http://127.0.0.1:{self._port}{INVOKE_PATH}",
            data=json.dumps(event).encode(),
            headers={"X-Amzn-RequestId": request_id, "X-Amzn-Trace-Id": trace_id},
            method="POST",
        )
        timeout = self.spec.timeout_s + HTTP_GRACE_S
        try:
            # Our own http://127.0.0.1 URL, never a user-supplied scheme.
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except (TimeoutError, urllib.error.URLError, ConnectionError):
            return 0, b""

    @contextlib.contextmanager
    def _memory_watch(self) -> Iterator[sandbox.Watchdog | None]:
        if self._cgroup is not None or self._rie is None:
            yield None
            return
        with sandbox.Watchdog(self._rie.pid, self.spec.memory_mb) as watchdog:
            yield watchdog

    def _peak_memory_mb(self, watchdog: sandbox.Watchdog | None) -> int:
        """The runtime's peak: the cgroup's (which misses the interpreter's pages charged before
        the runtime joined it) or the resident peak of the runtime process, whichever is larger."""
        runtimes = sandbox.runtime_pids(self._rie.pid) if self._rie else []
        measured = [sandbox.rss_mb(pid, "VmHWM") for pid in runtimes]
        if self._cgroup is not None:
            measured.append(self._cgroup.peak_memory_mb())
        if watchdog is not None:
            measured.append(watchdog.peak_mb)
        return max(measured, default=0)

    def _signal_runtime(self, signum: signal.Signals) -> None:
        """Freeze (SIGSTOP) or thaw (SIGCONT) the runtime's process group."""
        if self._rie is not None:
            sandbox.signal_groups(sandbox.runtime_pids(self._rie.pid), signum)

    def _kill(self) -> None:
        process, self._rie = self._rie, None
        if process is not None:
            runtimes = sandbox.runtime_pids(process.pid)
            sandbox.signal_groups([process.pid, *runtimes], signal.SIGKILL)
            process.wait()
            if self._output is not None:
                self._output.join()
        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None


def invoke_once(spec: FunctionSpec, event: Any) -> InvocationResult:
    """A cold start and one invocation in a fresh execution environment."""
    with LambdaProcess(spec) as process:
        return process.invoke(event)
