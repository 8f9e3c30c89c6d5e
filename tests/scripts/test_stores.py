"""scripts.stores up/status/down: idempotent, provisions real resources, leaves nothing running."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from scripts.harness.stack import local_stores, processes
from scripts.harness.stack.moto_server import MotoServer

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def stores(
    command: str, local_dir: Path, db_port: int, moto_port: int
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "scripts.stores",
            command,
            "--local-dir",
            str(local_dir),
            "--db-port",
            str(db_port),
            "--moto-port",
            str(moto_port),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


@pytest.fixture
def ports() -> tuple[int, int]:
    return processes.free_port(), processes.free_port()


@pytest.fixture
def local_dir(tmp_path: Path, ports: tuple[int, int]) -> Iterator[Path]:
    directory = tmp_path / "local"
    yield directory
    stores("down", directory, *ports)  # never leave servers behind, even on failure


def test_up_is_idempotent_and_provisions_what_the_handler_needs(
    local_dir: Path, ports: tuple[int, int]
) -> None:
    first = stores("up", local_dir, *ports)
    assert first.returncode == 0, first.stderr
    assert "MariaDB  started" in first.stdout and "moto     started" in first.stdout
    second = stores("up", local_dir, *ports)
    assert second.returncode == 0, second.stderr
    assert "already running" in second.stdout
    assert (local_dir / "mariadb.pid").is_file() and (local_dir / "moto.pid").is_file()

    environment = local_stores.read_env_file(local_dir / "stores.env")
    assert environment["DB_PORT"] == str(ports[0])
    assert environment["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{ports[1]}"
    assert environment["DB_TLS"] == "off"
    endpoint = environment["AWS_ENDPOINT_URL"]
    secret = local_stores.client("secretsmanager", endpoint).get_secret_value(
        SecretId=environment["DB_SECRET_ARN"]
    )
    credentials = json.loads(secret["SecretString"])
    with (
        pymysql.connect(
            host="127.0.0.1",
            port=ports[0],
            user=credentials["username"],
            password=credentials["password"],
            database=environment["DB_NAME"],
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT @@character_set_database")
        assert cursor.fetchone() == ("utf8mb4",)
    table = local_stores.client("dynamodb", endpoint).describe_table(
        TableName=environment["TABLE_NAME"]
    )["Table"]
    assert table["KeySchema"] == [{"AttributeName": "user_id", "KeyType": "HASH"}]
    local_stores.client("sqs", endpoint).get_queue_attributes(QueueUrl=environment["DLQ_URL"])
    # The password survives a second `up` (the secret and the user still agree).
    assert (
        json.loads(
            local_stores.client("secretsmanager", endpoint).get_secret_value(
                SecretId=environment["DB_SECRET_ARN"]
            )["SecretString"]
        )["password"]
        == credentials["password"]
    )
    assert (local_dir / "mariadb" / "app-password").stat().st_mode & 0o777 == 0o600

    status = stores("status", local_dir, *ports)
    assert status.returncode == 0 and status.stdout.count("running (pid") == 2


def test_down_stops_everything_and_status_says_so(local_dir: Path, ports: tuple[int, int]) -> None:
    assert stores("up", local_dir, *ports).returncode == 0
    down = stores("down", local_dir, *ports)
    assert down.returncode == 0
    assert down.stdout.count("stopped (pid") == 2
    assert not processes.port_open("127.0.0.1", ports[0])
    assert not processes.port_open("127.0.0.1", ports[1])
    status = stores("status", local_dir, *ports)
    assert status.returncode == 3 and status.stdout.count("stopped") == 2
    assert "was not running" in stores("down", local_dir, *ports).stdout


def test_a_taken_port_is_a_clear_error(local_dir: Path, moto_server: MotoServer) -> None:
    taken = moto_server.port
    result = stores("up", local_dir, processes.free_port(), taken)
    assert result.returncode == 1
    assert f"port 127.0.0.1:{taken} (for moto) is taken" in result.stderr
    assert not (local_dir / "mariadb.pid").exists()  # nothing was started
    assert "Traceback" not in result.stderr


def test_stale_pidfile_is_ignored(tmp_path: Path) -> None:
    pidfile = tmp_path / "server.pid"
    pidfile.write_text("999999999\n")
    assert processes.read_pid(pidfile) is None
    assert processes.stop(pidfile) is None
    assert not pidfile.exists()
