"""Start, stop or show the local stores the handler writes to: MariaDB and a moto server.

`up` is idempotent: it starts what is not running (MariaDB on 127.0.0.1:3307 with its data in
.local/mariadb, moto on 127.0.0.1:4566), provisions the database, its user, the DynamoDB table,
the DLQ and the Secrets Manager secret holding the user's password, and writes the function
environment for `scripts.invoke` to .local/stores.env. `down` stops both (data is kept).
`status` exits 0 when both run, 3 otherwise.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

from scripts.harness import cli
from scripts.harness.stack import local_stores, processes
from scripts.harness.stack.mariadb import MariaDBServer
from scripts.harness.stack.moto_server import MotoServer

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LOCAL_DIR = REPO_ROOT / ".local"
DEFAULT_DB_PORT = 3307
DEFAULT_MOTO_PORT = 4566
ENV_FILE_NAME = "stores.env"


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser("stores", __doc__)
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--local-dir", type=Path, default=DEFAULT_LOCAL_DIR)
    parser.add_argument("--db-port", type=int, default=DEFAULT_DB_PORT)
    parser.add_argument("--moto-port", type=int, default=DEFAULT_MOTO_PORT)
    return parser


def env_file_path(local_dir: Path = DEFAULT_LOCAL_DIR) -> Path:
    return local_dir / ENV_FILE_NAME


def servers(args: argparse.Namespace) -> tuple[MariaDBServer, MotoServer]:
    local_dir: Path = args.local_dir.resolve()
    mariadb = MariaDBServer(
        local_dir / "mariadb", port=args.db_port, pidfile=local_dir / "mariadb.pid"
    )
    moto = MotoServer(local_dir, port=args.moto_port, pidfile=local_dir / "moto.pid")
    return mariadb, moto


def app_password(local_dir: Path) -> str:
    """The database user's password: generated once, kept 0600 so `up` stays idempotent."""
    path = local_dir / "mariadb" / "app-password"
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(24)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(password + "\n")
    return password


def check_ports_free(mariadb: MariaDBServer, moto: MotoServer) -> None:
    """Refuse before starting anything, rather than leave one server up and the other not."""
    for label, pid, port in (
        ("MariaDB", mariadb.pid(), mariadb.port),
        ("moto", moto.pid(), moto.port),
    ):
        if pid is None and processes.port_open("127.0.0.1", port):
            raise processes.ServerError(
                f"port 127.0.0.1:{port} (for {label}) is taken by another process; stop it or "
                f"pick another port (--db-port / --moto-port)"
            )


def up(args: argparse.Namespace) -> int:
    mariadb, moto = servers(args)
    check_ports_free(mariadb, moto)
    names = local_stores.StoreNames()
    started = mariadb.start()
    print(f"MariaDB  {'started' if started else 'already running'} on 127.0.0.1:{args.db_port}")
    password = app_password(args.local_dir.resolve())
    mariadb.provision(database=names.database, user=names.db_user, password=password)
    started = moto.start()
    print(f"moto     {'started' if started else 'already running'} on {moto.endpoint_url}")
    provisioned = local_stores.provision(
        moto.endpoint_url,
        local_stores.DatabaseEndpoint(
            host="127.0.0.1",
            port=args.db_port,
            name=names.database,
            username=names.db_user,
            password=password,
        ),
        names,
    )
    env_path = env_file_path(args.local_dir.resolve())
    local_stores.write_env_file(env_path, provisioned.function_environment())
    print(f"table    {provisioned.table_name}")
    print(f"DLQ      {provisioned.dlq_url}")
    print(f"secret   {provisioned.secret_arn}")
    print(f"function environment written to {env_path}")
    return 0


def down(args: argparse.Namespace) -> int:
    mariadb, moto = servers(args)
    for label, server in (("moto", moto), ("MariaDB", mariadb)):
        pid = server.stop()
        print(f"{label:<8} {f'stopped (pid {pid})' if pid else 'was not running'}")
    return 0


def status(args: argparse.Namespace) -> int:
    mariadb, moto = servers(args)
    rows = (
        ("MariaDB", mariadb.pid(), f"127.0.0.1:{args.db_port}"),
        ("moto", moto.pid(), moto.endpoint_url),
    )
    for label, pid, where in rows:
        print(f"{label:<8} {f'running (pid {pid}) on {where}' if pid else 'stopped'}")
    return 0 if all(pid for _, pid, _ in rows) else 3


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = {"up": up, "down": down, "status": status}[args.command]
    try:
        return command(args)
    except processes.ServerError as error:
        print(f"stores: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
