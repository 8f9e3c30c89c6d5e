"""The execution environment of `make invoke` and the local runner: RIE + awslambdaric, sandboxed.

A probe handler (zipped here) checks what Lambda guarantees and what its sandbox forbids: the
context and environment, the import path, warm reuse, the timeout, function errors, the runtime's
Python, the memory limit, the read-only task root, a private /tmp per environment, the freeze
between invocations and the CPU share of the fidelity mode.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest

from scripts.harness.lambda_local import batch_result, code_zip, runtime, sandbox, sqs_event
from scripts.harness.lambda_local.runtime import (
    FunctionSpec,
    LambdaProcess,
    invoke_once,
    runtime_version,
)
from scripts.harness.lambda_local.zip_environment import ZipEnvironment
from scripts.harness.stack import local_stores
from scripts.harness.stack.moto_server import MotoServer

PROBE = """
import json, os, sys, tempfile, threading, time

STATE = {"calls": 0, "ticks": []}
print("probe init")

def tick():
    while True:
        STATE["ticks"].append(time.monotonic())
        time.sleep(0.01)

def allocate(mb):
    hog = bytearray(mb * 1024 * 1024)
    for page in range(0, len(hog), 4096):
        hog[page] = 1
    return len(hog) // 1024 // 1024

def allocate_once(event, context):
    # An SQS handler that runs out of memory on its first batch only (/tmp outlives the OOM).
    marker = os.path.join(tempfile.gettempdir(), "allocated-once")
    if not os.path.exists(marker):
        open(marker, "w").close()
        allocate(256)
    return {"batchItemFailures": []}

def handler(event, context):
    remaining = context.get_remaining_time_in_millis()
    STATE["calls"] += 1
    action = event.get("action")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "raise":
        raise ValueError("boom")
    if action == "exit":
        os._exit(3)
    if action == "unserializable":
        return {"value": object()}
    if action == "allocate":
        return {"allocated": allocate(event["mb"])}
    if action == "write":
        path = event.get("path") or os.path.join(tempfile.gettempdir(), event["tmp_name"])
        with open(path, "w") as file:
            file.write(event.get("text", "x"))
        return {"written": path}
    if action == "read":
        try:
            with open(os.path.join(tempfile.gettempdir(), event["tmp_name"])) as file:
                return {"text": file.read()}
        except FileNotFoundError:
            return {"text": None}
    if action == "start_ticker":
        threading.Thread(target=tick, daemon=True).start()
        time.sleep(0.05)
        return {}
    if action == "ticks":
        ticks = [*STATE["ticks"], time.monotonic()]
        return {"largest_gap_s": max(b - a for a, b in zip(ticks, ticks[1:]))}
    if action == "spin":
        started_wall, started_cpu = time.monotonic(), time.thread_time()
        while time.monotonic() - started_wall < event["seconds"]:
            pass
        return {"cpu_share": (time.thread_time() - started_cpu) / event["seconds"]}
    if action == "version":
        exec("type Pair[T] = tuple[T, T]")  # PEP 695: a SyntaxError before 3.12
        return {"version": list(sys.version_info[:2]), "env": os.environ["AWS_EXECUTION_ENV"]}
    importable = {}
    for name in ("boto3", "pymysql", "pytest", "hypothesis", "scripts", "registration"):
        try:
            __import__(name)
            importable[name] = True
        except ImportError:
            importable[name] = False
    print("probe invoked", context.aws_request_id)
    names = ("AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION",
             "_HANDLER", "LAMBDA_TASK_ROOT", "AWS_EXECUTION_ENV", "TZ", "CUSTOM")
    import boto3
    return {
        "calls": STATE["calls"],
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "remaining": remaining,
        "environment": {name: os.environ.get(name) for name in names},
        "importable": importable,
        "boto3": boto3.__version__,
        "cwd": os.getcwd(),
    }
"""

# An init that hangs the first time only (/tmp outlives the runtime that AWS's retry replaces).
SLOW_INIT = """
import os, tempfile, time
MARKER = os.path.join(tempfile.gettempdir(), "slow-init-once")
if not os.path.exists(MARKER):
    open(MARKER, "w").close()
    time.sleep(60)

def handler(event, context):
    return {"initialized": True}
"""

REPO_ROOT = Path(__file__).resolve().parents[4]
ISOLATED = sandbox.capabilities().mount_namespace
needs_namespace = pytest.mark.skipif(not ISOLATED, reason="no mount namespace (not root)")
needs_cgroup = pytest.mark.skipif(
    sandbox.capabilities().cgroup_version is None, reason="no writable memory cgroup"
)


@pytest.fixture(scope="module")
def probe_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("probe") / "probe.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("probe/__init__.py", "")
        archive.writestr("probe/app.py", PROBE)
        archive.writestr("probe/slow_init.py", SLOW_INIT)
    return path


@pytest.fixture
def probe_spec(probe_zip: Path, tmp_path: Path) -> FunctionSpec:
    code_dir = code_zip.extract(probe_zip, tmp_path / "task")
    return FunctionSpec(
        code_dir=code_dir,
        handler="probe.app.handler",
        function_name="probe",
        memory_mb=512,
        timeout_s=2.0,
        environment={"CUSTOM": "yes", "AWS_LAMBDA_FUNCTION_NAME": "cannot-override"},
    )


def with_spec(spec: FunctionSpec, **changes: Any) -> FunctionSpec:
    return FunctionSpec(**{**spec.__dict__, **changes})


class TestRuntime:
    def test_context_and_environment_are_lambda_like(self, probe_spec: FunctionSpec) -> None:
        result = invoke_once(probe_spec, {})
        assert result.error is None, result.logs
        response = result.response
        task_root = sandbox.TASK_ROOT if ISOLATED else str(probe_spec.code_dir)
        assert response["request_id"] == result.request_id
        assert response["function_name"] == "probe"
        assert response["memory"] == "512"
        # RIE puts a fixed placeholder account and region into the ARN it hands the runtime.
        assert response["arn"].endswith(":function:probe")
        assert 1000 < response["remaining"] <= 2000
        assert response["environment"] == {
            "AWS_LAMBDA_FUNCTION_NAME": "probe",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_REGION": "us-east-1",
            "_HANDLER": "probe.app.handler",
            "LAMBDA_TASK_ROOT": task_root,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{runtime_version()}",
            "TZ": ":UTC",
            "CUSTOM": "yes",
        }
        assert response["cwd"] == task_root
        # The SDK is the runtime's pin, not the harness's.
        assert response["boto3"] == "1.40.4"
        assert result.max_memory_used_mb > 0 and result.init_duration_ms is not None

    def test_init_output_is_told_apart_from_the_invoke_output(
        self, probe_spec: FunctionSpec
    ) -> None:
        with LambdaProcess(probe_spec) as process:
            cold, warm = process.invoke({}), process.invoke({})
        assert cold.init_log_lines == ["probe init"]
        assert cold.log_lines == [f"probe invoked {cold.request_id}"]
        assert warm.init_log_lines == []
        assert cold.init_records[-1].at <= cold.records[0].at

    def test_only_the_zip_and_the_runtime_sdk_are_importable(
        self, probe_spec: FunctionSpec
    ) -> None:
        importable = invoke_once(probe_spec, {}).response["importable"]
        assert importable == {
            "boto3": True,
            "pymysql": False,
            "pytest": False,
            "hypothesis": False,
            "scripts": False,
            "registration": False,
        }

    def test_python_3_12_code_runs_and_the_runtime_says_3_12(
        self, probe_spec: FunctionSpec
    ) -> None:
        if runtime_version() != "3.12":
            pytest.skip(f".venv-runtime has Python {runtime_version()}: no CPython 3.12 here")
        result = invoke_once(probe_spec, {"action": "version"})
        assert result.response == {"version": [3, 12], "env": "AWS_Lambda_python3.12"}

    def test_warm_reuse_then_a_new_init_after_a_timeout(self, probe_spec: FunctionSpec) -> None:
        with LambdaProcess(probe_spec) as process:
            first, second = process.invoke({}), process.invoke({})
            assert (first.response["calls"], second.response["calls"]) == (1, 2)
            assert first.init_duration_ms is not None and second.init_duration_ms is None
            assert "probe init" not in second.logs  # logs are per invocation
            timed_out = process.invoke({"action": "sleep", "seconds": 30})
            assert timed_out.timed_out and timed_out.failed
            assert timed_out.error == {
                "errorType": "Sandbox.Timedout",
                "errorMessage": "Task timed out after 2.00 seconds",
            }
            # RIE's own record of the invoke is cut at the timeout, not at the handler's 30 s.
            assert timed_out.duration_ms < 30_000
            assert "Task timed out after 2.00 seconds" in timed_out.logs
            again = process.invoke({})
            assert again.response["calls"] == 1 and again.init_duration_ms is not None

    @pytest.mark.parametrize(
        ("event", "error_type", "message"),
        [
            ({"action": "raise"}, "ValueError", "boom"),
            ({"action": "unserializable"}, "Runtime.MarshalError", "not JSON serializable"),
            ({"action": "exit"}, "Runtime.ExitError", "exit status 3"),
        ],
    )
    def test_function_errors(
        self, probe_spec: FunctionSpec, event: dict[str, Any], error_type: str, message: str
    ) -> None:
        result = invoke_once(probe_spec, event)
        assert result.failed and result.error is not None
        assert result.error["errorType"] == error_type
        assert message in result.error["errorMessage"]

    def test_a_traceback_is_one_log_record(self, probe_spec: FunctionSpec) -> None:
        result = invoke_once(probe_spec, {"action": "raise"})
        [record] = [line for line in result.log_lines if "[ERROR] ValueError: boom" in line]
        assert "\nTraceback (most recent call last):\n" in record

    @pytest.mark.parametrize(
        ("handler", "error_type"),
        [
            ("missing.module.handler", "Runtime.ImportModuleError"),
            ("probe.app.nope", "Runtime.HandlerNotFound"),
        ],
    )
    def test_init_errors(self, probe_spec: FunctionSpec, handler: str, error_type: str) -> None:
        result = invoke_once(with_spec(probe_spec, handler=handler), {})
        assert result.error is not None and result.error["errorType"] == error_type

    def test_an_init_past_the_init_limit_is_retried_inside_the_invoke(
        self, probe_spec: FunctionSpec, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(runtime, "INIT_TIMEOUT_S", 1.0)  # Lambda's is 10 s
        spec = with_spec(probe_spec, handler="probe.slow_init.handler", timeout_s=10.0)
        result = invoke_once(spec, {})
        assert result.error is None, result.logs
        assert result.response == {"initialized": True}
        assert result.init_log_lines[0] == (
            "INIT_REPORT Init Duration: 1000.00 ms\tPhase: init\tStatus: timeout"
        )


HARNESS = """
import sys, time
from pathlib import Path
from scripts.harness.lambda_local import sandbox
from scripts.harness.lambda_local.runtime import FunctionSpec, LambdaProcess

process = LambdaProcess(FunctionSpec(code_dir=Path(sys.argv[1]), handler="probe.app.handler"))
process.invoke({})
print(process._rie.pid, *sandbox.runtime_pids(process._rie.pid), flush=True)
time.sleep(600)
"""


def test_an_environment_does_not_outlive_a_killed_harness(probe_spec: FunctionSpec) -> None:
    harness = subprocess.Popen(
        [sys.executable, "-c", HARNESS, str(probe_spec.code_dir)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert harness.stdout is not None
    pids = [int(pid) for pid in harness.stdout.readline().split()]
    assert len(pids) == 2  # RIE and the (frozen) runtime
    harness.kill()
    harness.wait()
    stopped = threading.Event()
    for _ in range(100):
        alive = [pid for pid in pids if Path(f"/proc/{pid}").exists() and not zombie(pid)]
        if not alive:
            break
        stopped.wait(0.05)
    assert alive == []
    version = sandbox.capabilities().cgroup_version
    if version is not None:  # the next environment removes the cgroup the dead harness left
        left = f"{sandbox.CGROUP_PREFIX}{harness.pid}-*"
        parents = {p.parent for p in Path("/sys/fs/cgroup").glob(f"**/{left}")}
        assert parents
        sandbox.Cgroup(version, 128, cpu_fidelity=False).remove()
        assert not [d for parent in parents for d in parent.glob(left)]


def zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def test_a_missing_runtime_says_how_to_install_it(
    probe_spec: FunctionSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "RUNTIME_VENV", tmp_path / "absent")
    with pytest.raises(runtime.RuntimeUnavailableError, match="run `make runtime`"):
        invoke_once(probe_spec, {})


class TestSandbox:
    @needs_cgroup
    def test_memory_past_the_limit_is_runtime_out_of_memory(self, probe_spec: FunctionSpec) -> None:
        spec = with_spec(probe_spec, memory_mb=128)
        with LambdaProcess(spec) as process:
            fits = process.invoke({"action": "allocate", "mb": 48})
            assert fits.response == {"allocated": 48}
            assert fits.max_memory_used_mb >= 48
            result = process.invoke({"action": "allocate", "mb": 256})
            assert result.error is not None
            assert result.error["errorType"] == "Runtime.OutOfMemory"
            assert result.max_memory_used_mb >= 120
            # The environment recovers with a new init, as Lambda's does.
            again = process.invoke({})
            assert again.error is None and again.init_duration_ms is not None

    @needs_namespace
    def test_the_task_root_is_read_only(self, probe_spec: FunctionSpec) -> None:
        result = invoke_once(probe_spec, {"action": "write", "path": "/var/task/probe/x.txt"})
        assert result.error is not None
        assert result.error["errorType"] == "OSError"
        assert "[Errno 30] Read-only file system" in result.error["errorMessage"]

    def test_tmp_is_kept_per_environment_and_not_shared(self, probe_spec: FunctionSpec) -> None:
        with LambdaProcess(probe_spec) as first, LambdaProcess(probe_spec) as second:
            first.invoke({"action": "write", "tmp_name": "state.txt", "text": "first"})
            read = {"action": "read", "tmp_name": "state.txt"}
            assert first.invoke(read).response == {"text": "first"}
            assert second.invoke(read).response == {"text": None}

    @needs_namespace
    def test_tmp_has_the_ephemeral_size(self, probe_spec: FunctionSpec) -> None:
        spec = with_spec(probe_spec, ephemeral_storage_mb=1)
        result = invoke_once(spec, {"action": "write", "tmp_name": "big", "text": "x" * 2**21})
        assert result.error is not None and "No space left on device" in str(result.error)

    def test_a_background_thread_does_not_run_while_frozen(self, probe_spec: FunctionSpec) -> None:
        idle = threading.Event()
        with LambdaProcess(probe_spec) as process:
            process.invoke({"action": "start_ticker"})
            idle.wait(0.5)  # the environment is idle (frozen) for this long
            result = process.invoke({"action": "ticks"})
        assert result.error is None, result.logs
        # The ticker sleeps 10 ms between ticks; frozen, it misses the whole idle time.
        assert result.response["largest_gap_s"] >= 0.4

    @needs_cgroup
    def test_cpu_fidelity_gives_the_share_of_the_memory_size(
        self, probe_spec: FunctionSpec
    ) -> None:
        spec = with_spec(probe_spec, memory_mb=177, cpu_fidelity=True)  # 0.1 vCPU on AWS
        result = invoke_once(spec, {"action": "spin", "seconds": 1.0})
        assert result.error is None, result.logs
        assert result.response["cpu_share"] <= 0.15


class TestWithoutCgroupsOrNamespaces:
    """The fallbacks of a machine without a memory cgroup or mount namespaces (a laptop)."""

    @pytest.fixture(autouse=True)
    def _no_isolation(self, monkeypatch: pytest.MonkeyPatch) -> None:
        bare = sandbox.Capabilities(cgroup_version=None, mount_namespace=False)
        monkeypatch.setattr(sandbox, "capabilities", lambda: bare)

    def test_the_watchdog_stops_a_runtime_past_its_memory(self, probe_spec: FunctionSpec) -> None:
        with LambdaProcess(with_spec(probe_spec, memory_mb=128)) as process:
            result = process.invoke({"action": "allocate", "mb": 200})
            assert result.error is not None, result.logs
            assert result.error["errorType"] == "Runtime.OutOfMemory"
            assert result.max_memory_used_mb >= 128
            assert process.invoke({}).error is None

    def test_tmp_is_kept_per_environment_and_not_shared(self, probe_spec: FunctionSpec) -> None:
        with LambdaProcess(probe_spec) as first, LambdaProcess(probe_spec) as second:
            first.invoke({"action": "write", "tmp_name": "state.txt", "text": "first"})
            read = {"action": "read", "tmp_name": "state.txt"}
            assert first.invoke(read).response == {"text": "first"}
            assert second.invoke(read).response == {"text": None}
        response = invoke_once(probe_spec, {}).response
        assert response["environment"]["LAMBDA_TASK_ROOT"] == str(probe_spec.code_dir)


@needs_cgroup
def test_an_out_of_memory_batch_is_redelivered_and_nothing_is_lost(
    probe_zip: Path, tmp_path: Path, moto_server: MotoServer
) -> None:
    """What Lambda's poller does with an OOM: the whole batch fails, nothing is deleted, SQS
    delivers it again after the visibility timeout, and the retry succeeds."""
    sqs = local_stores.client("sqs", moto_server.endpoint_url)
    queue_url = sqs.create_queue(
        QueueName=f"oom-{tmp_path.name[-8:]}", Attributes={"VisibilityTimeout": "1"}
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sent = {
        sqs.send_message(QueueUrl=queue_url, MessageBody=f"m{n}")["MessageId"] for n in range(3)
    }
    code_dir = code_zip.extract(probe_zip, tmp_path / "task")
    spec = FunctionSpec(code_dir=code_dir, handler="probe.app.allocate_once", memory_mb=128)
    environment = ZipEnvironment(spec)
    errors: list[str] = []
    deleted: set[str] = set()
    try:
        for _ in range(10):
            messages = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2
            ).get("Messages", [])
            if not messages and deleted == sent:
                break
            if not messages:
                continue
            invocation = environment.invoke(
                sqs_event.event(messages, queue_arn), request_id=f"batch-{len(errors)}"
            )
            errors += [invocation.error] if invocation.error else []
            settlement = batch_result.settle(
                [m["MessageId"] for m in messages],
                function_error=invocation.error,
                response=invocation.response,
                response_types=("ReportBatchItemFailures",),
            )
            for message in messages:
                if message["MessageId"] in settlement.delete:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                    deleted.add(message["MessageId"])
    finally:
        environment.close()
    assert len(errors) == 1 and errors[0].startswith("Runtime.OutOfMemory: ")
    assert deleted == sent
