"""scripts.invoke: argument handling, the timeout, and the real built zip end to end.

The execution environment it runs (shared with the local runner) is tested in
tests/scripts/harness/lambda_local/test_runtime.py, whose probe handler is reused here; the
end-to-end tests run the real built zip against this session's MariaDB and moto server.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pymysql
import pytest

from scripts import package
from scripts.harness.lambda_local import code_zip
from scripts.harness.stack import local_stores
from tests.scripts.harness.lambda_local.test_runtime import PROBE

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def probe_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("probe") / "probe.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("probe/__init__.py", "")
        archive.writestr("probe/app.py", PROBE)
    return path


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
    result = run_invoke(
        str(event),
        "--zip",
        str(probe_zip),
        "--handler",
        "probe.app.handler",
        "--timeout",
        "1",
    )
    assert result.returncode == 1
    assert "Task timed out after 1.00 seconds" in result.stderr
    # Stopped at the timeout: the invoke's duration is the timeout's, not the handler's 30 s.
    duration = re.search(r"REPORT RequestId: \S+\tDuration: ([0-9.]+) ms", result.stderr)
    assert duration is not None and float(duration.group(1)) < 30_000


def test_text_logs_put_init_start_and_the_init_output_before_start(
    probe_zip: Path, tmp_path: Path
) -> None:
    event = tmp_path / "empty.json"
    event.write_text("{}")
    result = run_invoke(str(event), "--zip", str(probe_zip), "--handler", "probe.app.handler")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("INIT_START Runtime Version: python:")
    assert lines[1] == "probe init"
    assert lines[2].startswith("START RequestId: ")
    assert lines[-1].startswith("REPORT RequestId: ") and "Status:" not in lines[-1]


def test_json_log_format_gives_platform_events_and_json_errors(
    probe_zip: Path, tmp_path: Path
) -> None:
    event = tmp_path / "raise.json"
    event.write_text(json.dumps({"action": "raise"}))
    result = run_invoke(
        str(event), "--zip", str(probe_zip), "--handler", "probe.app.handler",
        "--log-format", "JSON",
    )  # fmt: skip
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    platform = [r["type"] for r in records if "type" in r]
    assert platform == ["platform.initStart", "platform.start", "platform.report"]
    assert records[-1]["record"]["status"] == "error"
    assert records[-1]["record"]["errorType"] == "ValueError"
    [error] = [r for r in records if r.get("level") == "ERROR"]
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "boom")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ((), 1, "give exactly one of"),
        (("events/tutorial-legacy.json", "--body", "{}"), 1, "give exactly one of"),
        (("events/nope.json",), 1, "cannot read event events/nope.json"),
        (("pyproject.toml",), 1, "cannot read event pyproject.toml"),
        (("events/tutorial-legacy.json", "--zip", "nope.zip"), 1, "nope.zip does not exist"),
        (("events/tutorial-legacy.json", "--env", "NOEQUALS"), 1, "--env expects KEY=VALUE"),
        (("events/tutorial-legacy.json", "--timeout", "1.5"), 2, "invalid int value"),
        (("--frobnicate",), 2, "unrecognized arguments"),
    ],
)
def test_bad_arguments_are_one_line(args: tuple[str, ...], code: int, message: str) -> None:
    result = run_invoke(*args)
    assert result.returncode == code
    assert message in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_the_seed_stream_event_runs_unchanged_through_the_change_counter(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The seed system's tumbling-window event, as shipped, against the built `changes` zip."""
    output = tmp_path_factory.mktemp("dist") / "changes.zip"
    built = package.build(
        arch="x86_64", source_dir=REPO_ROOT / "lambdas" / "changes", output=output
    )
    result = run_invoke(
        str(REPO_ROOT / "events" / "seed-stream-event.json"),
        "--zip", str(built.path),
        "--handler", "changes.windows.lambda_handler",
        "--function-name", "change-counts",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout[result.stdout.index("{") : result.stdout.rindex("}") + 1])
    assert response == {"state": {"1": "state1", "created": 1, "updated": 1, "removed": 1}}
