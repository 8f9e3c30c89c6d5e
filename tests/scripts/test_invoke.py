"""scripts.invoke and the execution-environment harness it shares with the local runner.

The harness tests run a small probe handler (zipped here) to check what Lambda guarantees: the
context, the environment, the import path, warm reuse, the timeout. The end-to-end tests run the
real built zip against this session's MariaDB and moto server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pymysql
import pytest

from scripts import package
from scripts.harness.lambda_local import code_zip
from scripts.harness.lambda_local.runtime import FunctionSpec, LambdaProcess, invoke_once
from scripts.harness.stack import local_stores

REPO_ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, sys, time

STATE = {"calls": 0}
print("probe init")

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
    return {
        "calls": STATE["calls"],
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "remaining": remaining,
        "environment": {name: os.environ.get(name) for name in names},
        "importable": importable,
        "cwd": os.getcwd(),
        "dont_write_bytecode": sys.dont_write_bytecode,
    }
"""


@pytest.fixture(scope="module")
def probe_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("probe") / "probe.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("probe/__init__.py", "")
        archive.writestr("probe/app.py", PROBE)
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


class TestExecutionEnvironment:
    def test_context_and_environment_are_lambda_like(self, probe_spec: FunctionSpec) -> None:
        result = invoke_once(probe_spec, {})
        assert result.error is None, result.logs
        response = result.response
        assert response["request_id"] == result.request_id
        assert response["function_name"] == "probe"
        assert response["memory"] == "512"
        assert response["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:probe"
        assert 1000 < response["remaining"] <= 2000
        assert response["environment"] == {
            "AWS_LAMBDA_FUNCTION_NAME": "probe",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_REGION": "us-east-1",
            "_HANDLER": "probe.app.handler",
            "LAMBDA_TASK_ROOT": str(probe_spec.code_dir),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "TZ": ":UTC",
            "CUSTOM": "yes",
        }
        assert response["cwd"] == str(probe_spec.code_dir)
        assert response["dont_write_bytecode"] is True
        assert "probe init" in result.logs and "probe invoked" in result.logs
        assert result.init_duration_ms is not None and result.max_memory_used_mb > 0

    def test_only_the_zip_and_boto3_are_importable(self, probe_spec: FunctionSpec) -> None:
        importable = invoke_once(probe_spec, {}).response["importable"]
        assert importable == {
            "boto3": True,
            "pymysql": False,
            "pytest": False,
            "hypothesis": False,
            "scripts": False,
            "registration": False,
        }

    def test_warm_reuse_then_cold_start_after_a_timeout(self, probe_spec: FunctionSpec) -> None:
        with LambdaProcess(probe_spec) as process:
            first, second = process.invoke({}), process.invoke({})
            assert (first.response["calls"], second.response["calls"]) == (1, 2)
            assert first.init_duration_ms is not None and second.init_duration_ms is None
            assert "probe init" not in second.logs  # logs are per invocation
            started = time.monotonic()
            timed_out = process.invoke({"action": "sleep", "seconds": 30})
            assert time.monotonic() - started < 5
            assert timed_out.timed_out and timed_out.failed
            assert timed_out.error == {
                "errorType": "Sandbox.Timedout",
                "errorMessage": "Task timed out after 2.00 seconds",
            }
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

    def test_handler_exception_is_logged_like_the_runtime(self, probe_spec: FunctionSpec) -> None:
        result = invoke_once(probe_spec, {"action": "raise"})
        assert "[ERROR] ValueError: boom" in result.logs
        assert "Traceback (most recent call last):" in result.logs

    @pytest.mark.parametrize(
        ("handler", "error_type"),
        [
            ("missing.module.handler", "Runtime.ImportModuleError"),
            ("probe.app.nope", "Runtime.HandlerNotFound"),
        ],
    )
    def test_init_errors(self, probe_spec: FunctionSpec, handler: str, error_type: str) -> None:
        spec = FunctionSpec(code_dir=probe_spec.code_dir, handler=handler, timeout_s=2.0)
        result = invoke_once(spec, {})
        assert result.error is not None and result.error["errorType"] == error_type


def test_unsafe_zip_entries_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../outside.py", "")
    with pytest.raises(code_zip.ZipLayoutError, match="unsafe entry"):
        code_zip.extract(path, tmp_path / "out")


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real deployment package, built by the packager (dependency cache shared)."""
    output = tmp_path_factory.mktemp("dist") / "registration.zip"
    return package.build(arch="x86_64", output=output).path


def run_invoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.invoke", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def env_file(fresh_stores: local_stores.ProvisionedStores, tmp_path: Path) -> Path:
    path = tmp_path / "stores.env"
    local_stores.write_env_file(path, fresh_stores.function_environment())
    return path


def mysql_user(stores: local_stores.ProvisionedStores, user_id: str) -> tuple[Any, ...] | None:
    database = stores.database
    with (
        pymysql.connect(
            host=database.host,
            port=database.port,
            user=database.username,
            password=database.password,
            database=database.name,
            charset="utf8mb4",
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT name, email FROM users WHERE user_id = %s", (user_id,))
        return cursor.fetchone()


def dynamodb_user(stores: local_stores.ProvisionedStores, user_id: str) -> dict[str, Any] | None:
    client = local_stores.client("dynamodb", stores.endpoint_url)
    item = client.get_item(TableName=stores.table_name, Key={"user_id": {"S": user_id}})
    return item.get("Item")


@pytest.mark.integration
class TestInvokeCommand:
    def test_tutorial_event_end_to_end(
        self, built_zip: Path, env_file: Path, fresh_stores: local_stores.ProvisionedStores
    ) -> None:
        result = run_invoke(
            "events/tutorial-legacy.json", "--zip", str(built_zip), "--env-file", str(env_file)
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"batchItemFailures": []}
        assert "START RequestId:" in result.stderr and "REPORT RequestId:" in result.stderr
        assert '"message":"batch finished"' in result.stderr
        assert "Init Duration:" in result.stderr
        assert mysql_user(fresh_stores, "1021") == ("Martha Rivera", None)
        item = dynamodb_user(fresh_stores, "1021")
        assert item is not None and item["name"] == {"S": "Martha Rivera"}

    def test_event_built_from_bodies(
        self,
        built_zip: Path,
        env_file: Path,
        fresh_stores: local_stores.ProvisionedStores,
        tmp_path: Path,
    ) -> None:
        first = json.dumps(
            {"user_id": "b-1", "name": "Body One", "registered_at": "2026-01-01T00:00:00Z"}
        )
        result = run_invoke(
            "--body",
            first,
            "--body",
            "not json",
            "--zip",
            str(built_zip),
            "--env-file",
            str(env_file),
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"batchItemFailures": []}
        assert '"failure_reason":"invalid_json"' in result.stderr
        assert mysql_user(fresh_stores, "b-1") == ("Body One", None)
        result = run_invoke(
            "--bodies",
            "events/bodies-example.jsonl",
            "--zip",
            str(built_zip),
            "--env-file",
            str(env_file),
        )
        assert result.returncode == 0, result.stderr
        assert mysql_user(fresh_stores, "5003") == ("Line Three Legacy", None)
        assert dynamodb_user(fresh_stores, "u-5001") is not None

    def test_function_error_exits_non_zero(self, built_zip: Path, env_file: Path) -> None:
        result = run_invoke(
            "events/tutorial-legacy.json",
            "--zip",
            str(built_zip),
            "--env-file",
            str(env_file),
            "--env",
            "DB_TLS=bogus",
        )
        assert result.returncode == 1
        assert "invoke: function error: ConfigError:" in result.stderr
        assert json.loads(result.stdout)["errorType"] == "ConfigError"


def test_timeout_is_enforced_by_the_command(probe_zip: Path, tmp_path: Path) -> None:
    event = tmp_path / "sleep.json"
    event.write_text(json.dumps({"action": "sleep", "seconds": 30}))
    started = time.monotonic()
    result = run_invoke(
        str(event),
        "--zip",
        str(probe_zip),
        "--handler",
        "probe.app.handler",
        "--timeout",
        "1",
    )
    assert time.monotonic() - started < 15
    assert result.returncode == 1
    assert "Task timed out after 1.00 seconds" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ((), 1, "give exactly one of"),
        (("events/tutorial-legacy.json", "--body", "{}"), 1, "give exactly one of"),
        (("events/nope.json",), 1, "cannot read event events/nope.json"),
        (("pyproject.toml",), 1, "cannot read event pyproject.toml"),
        (("events/tutorial-legacy.json", "--zip", "nope.zip"), 1, "nope.zip does not exist"),
        (("events/tutorial-legacy.json", "--env", "NOEQUALS"), 1, "--env expects KEY=VALUE"),
        (("events/tutorial-legacy.json", "--timeout", "soon"), 2, "invalid float value"),
        (("--frobnicate",), 2, "unrecognized arguments"),
    ],
)
def test_bad_arguments_are_one_line(args: tuple[str, ...], code: int, message: str) -> None:
    result = run_invoke(*args)
    assert result.returncode == code
    assert message in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
