"""The built zip on CPython 3.12 (the function's runtime), against this test's MariaDB and moto.

The harness and the other tests run on the harness's Python; the function runs on python3.12.
Here the zip `make package` builds (with its 3.12 bytecode) is extracted and its handler run by
a 3.12 interpreter, isolated like Lambda's (only the zip and boto3 importable, `-B` as on the
read-only /var/task), over the shipped events; the stores are then read back from this side.
Skipped where no CPython 3.12 exists (the packager's own rule for finding one).
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from scripts import package
from scripts.harness.lambda_local import runtime as lambda_runtime
from tests.lambdas.registration.support import HandlerStores, function_environment

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[3]
PYTHON_312 = package.runtime_python()
DRIVER = """
import json, sys
sys.path[:0] = [sys.argv[1]]
sys.path.append(sys.argv[2])
from registration import app

class Context:
    function_name = "registration"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:registration"
    aws_request_id = "py312"
    def get_remaining_time_in_millis(self):
        return 60_000

results = []
for line in sys.stdin:
    try:
        results.append(app.lambda_handler(json.loads(line), Context()))
    except Exception as error:
        results.append({"error": type(error).__name__})
print(json.dumps({"python": sys.version.split()[0], "results": results}))
"""

skip_without_312 = pytest.mark.skipif(PYTHON_312 is None, reason="no CPython 3.12 here")


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("py312")
    built = package.build(arch="x86_64", output=base / "registration.zip", compiler=PYTHON_312)
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(base / "task")
    return base / "task"


def run_on_312(task: Path, stores: HandlerStores, events: list[dict[str, Any]]) -> dict[str, Any]:
    assert PYTHON_312 is not None
    runtime_dir = lambda_runtime.runtime_site_packages()  # Lambda's boto3, on 3.12
    result = subprocess.run(
        [str(PYTHON_312[0]), "-I", "-S", "-B", "-c", DRIVER, str(task), str(runtime_dir)],
        input="".join(json.dumps(event) + "\n" for event in events),
        capture_output=True,
        text=True,
        check=False,
        env={**function_environment(stores.stores), "PATH": "/usr/bin:/bin", "TZ": ":UTC"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@skip_without_312
def test_the_shipped_events_on_312_converge_in_both_stores(
    task_dir: Path, handler_stores: HandlerStores
) -> None:
    names = ["valid-batch-10", "duplicates", "out-of-order-updates", "tutorial-legacy"]
    events = [json.loads((REPO_ROOT / "events" / f"{n}.json").read_text()) for n in names]
    outcome = run_on_312(task_dir, handler_stores, [*events, events[1]])  # + a redelivery
    assert outcome["python"].startswith("3.12.")
    assert outcome["results"] == [{"batchItemFailures": []}] * 5
    mysql, dynamodb = handler_stores.mysql_users(), handler_stores.dynamodb_users()
    assert mysql == dynamodb
    assert len(mysql) >= 10
    assert {row["name"] for row in mysql.values()} >= {"Samantha Final", "Martha Rivera"}


@skip_without_312
def test_rejections_go_to_the_dlq_with_their_reason_on_312(
    task_dir: Path, handler_stores: HandlerStores
) -> None:
    invalid = json.loads((REPO_ROOT / "events" / "invalid-records.json").read_text())
    outcome = run_on_312(task_dir, handler_stores, [invalid])
    assert outcome["results"] == [{"batchItemFailures": []}]
    reasons = {message["failure_reason"] for message in handler_stores.dlq_messages()}
    assert {"invalid_json", "wrong_type", "invalid_email", "oversized"} <= reasons
    assert handler_stores.mysql_users() == handler_stores.dynamodb_users() != {}
