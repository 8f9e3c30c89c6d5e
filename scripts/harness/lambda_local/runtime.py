"""Run a handler from an extracted zip in its own process, as Lambda would.

One `LambdaProcess` is one execution environment: a separate interpreter whose ``sys.path`` is
the code directory, the standard library and boto3 (as the python3.12 runtime provides it), a
Lambda-like environment (``AWS_LAMBDA_FUNCTION_NAME``, ``_HANDLER``, …), a context object with a
real deadline, and the timeout enforced by killing the process. It stays warm across
invocations, so a local event-source runner gets cold and warm starts like the real service.
The child runs this machine's Python (3.11 here), not 3.12: the code must run on both.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any

BOOTSTRAP = Path(__file__).resolve().with_name("bootstrap.py")
# Lambda allows 10 s for the init phase of on-demand functions.
INIT_TIMEOUT_S = 10.0
RUNTIME_ROOT_DISTRIBUTION = "boto3"
REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
DEFAULT_ACCOUNT_ID = "123456789012"


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

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"


@dataclass(frozen=True)
class InvocationResult:
    request_id: str
    response: Any
    error: dict[str, Any] | None
    logs: str
    duration_ms: float
    init_duration_ms: float | None  # set on a cold start only
    max_memory_used_mb: int
    timed_out: bool = False

    @property
    def failed(self) -> bool:
        """A function error (unhandled exception, init failure or timeout)."""
        return self.error is not None


def runtime_distributions(root: str = RUNTIME_ROOT_DISTRIBUTION) -> list[metadata.Distribution]:
    """``root`` and everything it requires (extras ignored), from this interpreter's packages."""
    seen: dict[str, metadata.Distribution] = {}
    pending = [root]
    while pending:
        name = pending.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # An optional, environment-specific requirement.
        seen[key] = distribution
        for requirement in distribution.requires or []:
            if "extra ==" in requirement:
                continue
            match = REQUIREMENT_NAME.match(requirement)
            if match:
                pending.append(match.group(1))
    return list(seen.values())


def build_runtime_dir(destination: Path) -> Path:
    """A directory of symlinks to boto3 and its dependencies only (the runtime's SDK)."""
    destination.mkdir(parents=True, exist_ok=True)
    for distribution in runtime_distributions():
        for file in distribution.files or []:
            top = file.parts[0]
            if top == ".." or top.endswith(".pth") or top == "__pycache__":
                continue
            link = destination / top
            if not link.exists():
                link.symlink_to(Path(str(distribution.locate_file(top))).resolve())
    return destination


def lambda_environment(spec: FunctionSpec, runtime_dir: Path, log_stream: str) -> dict[str, str]:
    """The function's variables plus what Lambda itself sets (which the function cannot change)."""
    reserved = {
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "_HANDLER": spec.handler,
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "PYTHONUNBUFFERED": "1",
    }
    if os.environ.get("AWS_SESSION_TOKEN"):
        reserved["AWS_SESSION_TOKEN"] = os.environ["AWS_SESSION_TOKEN"]
    return {**spec.environment, **reserved}


class LambdaProcess:
    """One warm execution environment; re-initialized after a timeout killed it."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self._workdir = Path(tempfile.mkdtemp(prefix="lambda-env-"))
        self._runtime_dir = build_runtime_dir(self._workdir / "runtime")
        self._log_path = self._workdir / "output.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._results: Any = None
        self._buffer = b""
        self._child_exited = False
        self._pending_init: tuple[float, str] | None = None  # (init ms, init logs)
        self._init_error: dict[str, Any] | None = None

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
        if self._process is None:
            self._start()
        if self._init_error is not None:
            return self._failed_init(request_id)
        offset = self._log_size()
        deadline_ms = int(time.time() * 1000 + self.spec.timeout_s * 1000)
        message = {
            "request_id": request_id,
            "event": event,
            "deadline_ms": deadline_ms,
            "invoked_function_arn": self.spec.arn,
            "trace_id": f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Sampled=0",
        }
        started = time.perf_counter()
        self._send(message)
        answer = self._read_answer(self.spec.timeout_s)
        init_ms, init_logs = self._pending_init or (None, "")
        self._pending_init = None
        if answer is None:
            text = f"Task timed out after {self.spec.timeout_s:.2f} seconds"
            error = self._lost_process_error(text, "Sandbox.Timedout")
            timed_out = error["errorType"] == "Sandbox.Timedout"
            logs = init_logs + self._read_logs(offset)
            if timed_out:
                stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
                logs += f"{stamp} {request_id} {text}\n"
            return InvocationResult(
                request_id=request_id,
                response=None,
                error=error,
                logs=logs,
                duration_ms=(time.perf_counter() - started) * 1000,
                init_duration_ms=init_ms,
                max_memory_used_mb=0,
                timed_out=timed_out,
            )
        return InvocationResult(
            request_id=request_id,
            response=answer.get("response"),
            error=answer.get("error"),
            logs=init_logs + self._read_logs(offset),
            duration_ms=float(answer["duration_ms"]),
            init_duration_ms=init_ms,
            max_memory_used_mb=int(answer["max_memory_mb"]),
        )

    def close(self) -> None:
        self._kill()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def _start(self) -> None:
        read_fd, write_fd = os.pipe()
        log_stream = f"{datetime.now(UTC):%Y/%m/%d}/[{self.spec.version}]{secrets.token_hex(16)}"
        offset = self._log_size()
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-B", str(BOOTSTRAP), str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                env=lambda_environment(self.spec, self._runtime_dir, log_stream),
                cwd=self.spec.code_dir,
                pass_fds=(write_fd,),
                start_new_session=True,
            )
        os.close(write_fd)
        self._results = os.fdopen(read_fd, "rb", buffering=0)
        self._buffer = b""
        self._child_exited = False
        self._init_error = None
        init = {
            "code_dir": str(self.spec.code_dir),
            "runtime_dirs": [str(self._runtime_dir)],
            "handler": self.spec.handler,
        }
        started = time.perf_counter()
        self._send(init)
        answer = self._read_answer(INIT_TIMEOUT_S)
        if answer is None:
            self._init_error = self._lost_process_error(
                f"init did not finish within {INIT_TIMEOUT_S:.0f} s", "Runtime.InitTimeout"
            )
        elif answer["type"] == "init_error":
            self._init_error = answer["error"]
        init_ms = float(answer["init_ms"]) if answer and "init_ms" in answer else None
        self._pending_init = (
            init_ms if init_ms is not None else (time.perf_counter() - started) * 1000,
            self._read_logs(offset),
        )

    def _send(self, message: dict[str, Any]) -> None:
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write(json.dumps(message).encode() + b"\n")
            self._process.stdin.flush()
        except BrokenPipeError:
            pass  # The child died; _read_answer reports it.

    def _lost_process_error(self, timeout_message: str, timeout_type: str) -> dict[str, str]:
        """Kill the child; describe a crash (it exited) or a timeout (we stopped it)."""
        status = None
        if self._process is not None and self._child_exited:
            with contextlib.suppress(subprocess.TimeoutExpired):
                status = self._process.wait(timeout=5)
        self._kill()
        if status is not None:
            return {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"Runtime exited with error: exit status {status}",
            }
        return {"errorType": timeout_type, "errorMessage": timeout_message}

    def _failed_init(self, request_id: str) -> InvocationResult:
        init_ms, init_logs = self._pending_init or (None, "")
        self._pending_init = None
        error = self._init_error
        self._kill()  # Lambda retries init on the next invocation.
        return InvocationResult(
            request_id=request_id,
            response=None,
            error=error,
            logs=init_logs,
            duration_ms=0.0,
            init_duration_ms=init_ms,
            max_memory_used_mb=0,
        )

    def _read_answer(self, timeout_s: float) -> dict[str, Any] | None:
        """The next JSON line from the child, or None on timeout or exit."""
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as selector:
            selector.register(self._results, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return None
                chunk = self._results.read(65536)
                if not chunk:
                    self._child_exited = True  # Its end of the pipe closed.
                    return None
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            if process.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    process.stdin.close()
        if self._results is not None:
            self._results.close()
            self._results = None

    def _log_size(self) -> int:
        return self._log_path.stat().st_size if self._log_path.exists() else 0

    def _read_logs(self, offset: int) -> str:
        with self._log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", errors="replace")


def invoke_once(spec: FunctionSpec, event: Any) -> InvocationResult:
    """A cold start and one invocation in a fresh execution environment."""
    with LambdaProcess(spec) as process:
        return process.invoke(event)
