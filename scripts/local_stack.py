"""`make local-up` / `local-down` / `demo`: the whole stack on a laptop, no AWS, no Docker.

    python -m scripts.local_stack up        # moto + MariaDB, package, apply, runner, gateway
    python -m scripts.local_stack down      # stop all of it and remove its state
    python -m scripts.local_stack demo -n 1000 --invalid 0.05 --duplicates 0.05 --out-of-order 0.05
    python -m scripts.local_stack status

`up` is idempotent and restarts the runner so that it always runs the code just deployed.
Everything lives in .local/ (or --local-dir): pidfiles, logs, the local profile's Terraform state
(the same state `python -m scripts.deploy --profile local` uses), MariaDB's data directory, the
stack outputs, the runner's status file and the send ledgers.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts import import_users, lake, package, release, send_messages, verify
from scripts.harness import cli
from scripts.harness.gateway import ingest_outputs
from scripts.harness.messages import drain, ledger, store_readers
from scripts.harness.release import alias
from scripts.harness.stack import aws_session, mariadb, moto_server, outputs, processes
from scripts.harness.stack import terraform as tf

PROG = "local_stack"
REPO_ROOT = Path(__file__).resolve().parents[1]
LAMBDAS_DIR = REPO_ROOT / "lambdas"
EXTERNAL_MYSQL_HINT = (
    "to use an existing MySQL 8 / MariaDB instead, set function_db_endpoint_override "
    "(host, port, tls) in envs/local.tfvars, run `local_stack --no-mariadb up`, and create on "
    "that server the schema (db_name output) and a master user from the RDS-managed secret "
    "(db_bootstrap_event output); `up` then creates the application user"
)
RUNNER_STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Layout:
    """Where one local stack keeps its state and which ports it uses.

    The defaults are the project's fixed ones (docs/CONTRACTS.md); tests use a private directory
    and free ports so they never touch a developer's running stack.
    """

    local_dir: Path = REPO_ROOT / ".local"
    moto_port: int = moto_server.DEFAULT_PORT
    db_port: int = 3307
    mariadb: bool = True  # False: the function uses a MySQL the user runs (see the hint)
    gateway_port: int | None = None  # the local API Gateway; None: a free port (tests)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def terraform_dir(self) -> Path:
        return self.local_dir / "terraform"

    @property
    def outputs_file(self) -> Path:
        return self.local_dir / "outputs.json"

    @property
    def bootstrap_event_file(self) -> Path:
        """The input Terraform gives the bootstrap function on AWS (no secret in it)."""
        return self.terraform_dir / "bootstrap-event.json"

    @property
    def ledger_dir(self) -> Path:
        return self.local_dir / "ledgers"

    @property
    def log_file(self) -> Path:
        """What `up` and `demo` print besides their one line per phase."""
        return self.local_dir / "local-stack.log"

    @property
    def runner_pidfile(self) -> Path:
        return self.local_dir / "runner.pid"

    @property
    def runner_log(self) -> Path:
        return self.local_dir / "runner.log"

    @property
    def runner_status(self) -> Path:
        return self.local_dir / "runner.json"

    @property
    def gateway_pidfile(self) -> Path:
        return self.local_dir / "gateway.pid"

    @property
    def gateway_log(self) -> Path:
        return self.local_dir / "gateway.log"

    @property
    def gateway_url_file(self) -> Path:
        return self.local_dir / "gateway.url"

    def state_paths(self) -> list[Path]:
        """What `down` removes (the Terraform provider cache in terraform/data is kept)."""
        tf_dir = self.terraform_dir
        return [
            tf_dir / "local.tfstate",
            tf_dir / "local.tfstate.backup",
            self.local_dir / "mariadb",
            self.ledger_dir,
            self.outputs_file,
            self.bootstrap_event_file,
            self.runner_status,
            self.runner_log,
            self.local_dir / "moto.log",
            self.gateway_log,
            self.gateway_url_file,
            self.log_file,
        ]

    def servers(self) -> tuple[moto_server.MotoServer, mariadb.MariaDBServer]:
        """The same servers (pidfiles, ports) as `make stores-up`, so the two never collide."""
        moto = moto_server.MotoServer(
            self.local_dir, port=self.moto_port, pidfile=self.local_dir / "moto.pid"
        )
        database = mariadb.MariaDBServer(
            self.local_dir / "mariadb", port=self.db_port, pidfile=self.local_dir / "mariadb.pid"
        )
        return moto, database

    def session(self) -> aws_session.SessionLike:
        return aws_session.session(aws_session.local_target(self.endpoint_url))


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(PROG, __doc__)
    parser.add_argument("--local-dir", type=Path, default=Layout.local_dir)
    parser.add_argument("--moto-port", type=int, default=Layout.moto_port)
    parser.add_argument("--db-port", type=int, default=Layout.db_port)
    parser.add_argument("--gateway-port", type=int, default=4567, help="the local API Gateway")
    parser.add_argument(
        "--no-mariadb",
        dest="mariadb",
        action="store_false",
        help="do not start MariaDB: envs/local.tfvars points the function at your MySQL",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start moto and MariaDB, deploy, start the runner")
    commands.add_parser("down", help="stop everything `up` started and remove its state")
    commands.add_parser("status", help="what runs, and the runner's counters")
    demo = commands.add_parser("demo", help="up, send, wait until drained, verify")
    demo.add_argument("-n", "--count", type=int, default=1000)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--invalid", type=float, default=0.05)
    demo.add_argument("--duplicates", type=float, default=0.05)
    demo.add_argument("--out-of-order", type=float, default=0.05)
    demo.add_argument(
        "--http-share", type=float, default=0.2, help="fraction sent through the ingest API"
    )
    demo.add_argument("--timeout", type=float, default=900, help="seconds to wait for the drain")
    demo.add_argument("--import-rows", type=int, default=200, help="rows of the demo's CSV export")
    demo.add_argument("--bake", type=int, default=30, help="seconds the demo release bakes")
    return parser


def start_servers(layout: Layout) -> mariadb.MariaDBServer | None:
    moto, database = layout.servers()
    if layout.mariadb:
        try:
            database.start()
        except processes.ServerError as err:
            raise cli.UserError(f"{err}; {EXTERNAL_MYSQL_HINT}") from err
        print(f"{PROG}: MariaDB on 127.0.0.1:{layout.db_port} (pid {database.pid()})")
    try:
        moto.start()
    except processes.ServerError as err:
        raise cli.UserError(str(err)) from err
    print(f"{PROG}: moto on {moto.endpoint_url} (pid {moto.pid()})")
    return database if layout.mariadb else None


def deploy(layout: Layout) -> outputs.StackOutputs:
    """terraform apply of the local profile (scripts/harness/stack/terraform.py, as deploy.py does),
    with its state in the layout; the outputs are also written to outputs.json."""
    # The function must reach the MariaDB of this layout (envs/local.tfvars names 3307).
    variables: dict[str, Any] = (
        {"function_db_endpoint_override": {"host": "127.0.0.1", "port": layout.db_port,
                                           "tls": "off"}}
        if layout.mariadb
        else {}
    )  # fmt: skip
    workspace = tf.workspace(
        "local",
        endpoint_url=layout.endpoint_url,
        state_dir=layout.terraform_dir,
        variables=variables,
    )
    print(f"{PROG}: terraform apply, {workspace.describe()}", flush=True)
    started = time.monotonic()
    tf.apply(workspace, auto_approve=True, stream=_stdout_is_a_file())
    raw = tf.output(workspace)
    stack = outputs.StackOutputs.from_mapping(raw)
    # Every output, flat: the optional systems' names too (ingest API, lake, imports).
    layout.outputs_file.write_text(
        json.dumps({k: v["value"] for k, v in raw.items()}, indent=2, sort_keys=True) + "\n"
    )
    layout.bootstrap_event_file.write_text(
        json.dumps(raw["db_bootstrap_event"]["value"], indent=2) + "\n"
    )
    print(f"{PROG}: applied in {time.monotonic() - started:.1f} s")
    return stack


def _stdout_is_a_file() -> bool:
    """Terraform's progress can only be streamed to a real file descriptor (not to a capture)."""
    try:
        sys.stdout.fileno()
    except (AttributeError, io.UnsupportedOperation):
        return False
    return True


def provision_master_user(
    server: mariadb.MariaDBServer, *, database: str, username: str, password: str
) -> None:
    """The schema and the master user RDS creates with the instance (idempotent).

    Like RDS's master user it holds every privilege with GRANT OPTION, which is what the
    bootstrap needs to create the application user; nothing else logs in with it.
    """
    account = (username, "%")
    with server.root_connection() as connection, connection.cursor() as cursor:
        cursor.execute(
            f"CREATE DATABASE IF NOT EXISTS `{database}` "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
        cursor.execute("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (*account, password))
        cursor.execute("ALTER USER %s@%s IDENTIFIED BY %s", (*account, password))
        cursor.execute("GRANT ALL PRIVILEGES ON *.* TO %s@%s WITH GRANT OPTION", account)


def provision_database(
    session: aws_session.SessionLike,
    event: dict[str, Any],
    database: mariadb.MariaDBServer | None,
) -> dict[str, Any]:
    """What RDS and the bootstrap function do on AWS, against the local MariaDB.

    The master user comes from the RDS-managed secret moto created (on a MySQL of the user's,
    `--no-mariadb`, it must exist already); then the bootstrap
    function's own code (lambdas/bootstrap) runs here with the input Terraform would invoke it
    with, because moto cannot run a Lambda function without Docker. It creates the table and the
    least-privilege application user, whose password lands in the db_secret_arn secret.
    """
    secrets_client = session.client("secretsmanager")
    user, password = store_readers.credentials(secrets_client, event["master_secret_arn"])
    if database is not None:
        provision_master_user(
            database, database=event["database"], username=user, password=password
        )
    if str(LAMBDAS_DIR) not in sys.path:
        sys.path.append(str(LAMBDAS_DIR))
    from bootstrap import app as bootstrap_app  # noqa: PLC0415 (lives beside the functions)

    try:
        return bootstrap_app.bootstrap(bootstrap_app.Request.from_event(event), secrets_client)
    except bootstrap_app.BootstrapError as err:
        raise cli.UserError(f"database bootstrap failed: {err}") from err


def runner_status(layout: Layout) -> dict[str, Any]:
    try:
        status: dict[str, Any] = json.loads(layout.runner_status.read_text())
    except (OSError, ValueError):
        return {}
    return status


def start_runner(layout: Layout) -> int:
    """(Re)start the runner in the background; wait until it reports that it polls."""
    stopped = processes.stop(layout.runner_pidfile, timeout_s=RUNNER_STOP_TIMEOUT_S)
    if stopped:
        print(f"{PROG}: stopped the previous runner (pid {stopped})")
    layout.runner_status.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "scripts.local_runner",
        "--endpoint-url", layout.endpoint_url,
        "--status-file", str(layout.runner_status),
    ]  # fmt: skip
    pid = processes.spawn(command, log_path=layout.runner_log, pidfile=layout.runner_pidfile)
    try:
        processes.wait_until(
            lambda: runner_status(layout).get("pid") == pid,
            timeout_s=60,
            pid=pid,
            what="local runner",
            log_path=layout.runner_log,
        )
    except processes.ServerError as err:
        processes.stop(layout.runner_pidfile)
        raise cli.UserError(str(err)) from err
    return pid


def start_gateway(layout: Layout) -> str:
    """(Re)start the local API Gateway for the ingest API; return the POST URL it serves."""
    stopped = processes.stop(layout.gateway_pidfile)
    if stopped:
        print(f"{PROG}: stopped the previous gateway (pid {stopped})")
    port = layout.gateway_port or processes.free_port()
    api = ingest_outputs.load("local", layout.outputs_file)
    command = [
        sys.executable, "-m", "scripts.local_gateway",
        "--endpoint-url", layout.endpoint_url,
        "--outputs", str(layout.outputs_file),
        "--port", str(port),
    ]  # fmt: skip
    pid = processes.spawn(command, log_path=layout.gateway_log, pidfile=layout.gateway_pidfile)
    try:
        processes.wait_until(
            lambda: processes.port_open("127.0.0.1", port),
            timeout_s=30.0,
            pid=pid,
            what="local gateway",
            log_path=layout.gateway_log,
        )
    except processes.ServerError as err:
        processes.stop(layout.gateway_pidfile)
        raise cli.UserError(str(err)) from err
    url = f"http://127.0.0.1:{port}/{api.stage}/registrations"
    layout.gateway_url_file.write_text(url + "\n")
    print(
        f"{PROG}: gateway pid {pid}: POST {url} (API Gateway {api.url}); log {layout.gateway_log}"
    )
    return url


class Phases:
    """One line per phase on the terminal; whatever a phase prints goes to the layout's log."""

    def __init__(self, total: int, log_file: Path) -> None:
        self.total = total
        self.done = 0
        self.log_file = log_file
        log_file.parent.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def phase(self, title: str) -> Iterator[list[str]]:
        """Run a phase; what the body appends to the yielded list ends its line."""
        self.done += 1
        print(f"[{self.done}/{self.total}] {title:<34}", end="", flush=True)
        started = time.monotonic()
        notes: list[str] = []
        try:
            with (
                self.log_file.open("a") as log,
                contextlib.redirect_stdout(log),
                contextlib.redirect_stderr(log),
            ):
                print(f"--- {title}", flush=True)
                yield notes
        except BaseException:
            print(f" FAILED after {time.monotonic() - started:.0f} s (details: {self.log_file})")
            raise
        print(f" {'; '.join(notes)} ({time.monotonic() - started:.0f} s)", flush=True)


UP_PHASES = 5


def up(layout: Layout, phases: Phases | None = None) -> outputs.StackOutputs:
    """Stores, zips, apply, database, runner and gateway: five phases."""
    phases = phases or Phases(UP_PHASES, layout.log_file)
    with phases.phase("moto + MariaDB") as notes:
        database = start_servers(layout)
        notes.append(f"moto {layout.endpoint_url}")
        if database is not None:
            notes.append(f"MariaDB 127.0.0.1:{layout.db_port}")
    with phases.phase("package every lambdas/<name>/") as notes:
        if package.main(["--arch", "x86_64"]) != 0:
            raise cli.UserError(f"packaging failed (see {layout.log_file})")
        notes.append(", ".join(sorted(p.name for p in REPO_ROOT.glob("dist/*.zip"))))
    with phases.phase("terraform apply (local profile)") as notes:
        stack = deploy(layout)
        notes.append(f"{len(json.loads(layout.outputs_file.read_text()))} outputs")
    with phases.phase("database: schema + app user") as notes:
        event = json.loads(layout.bootstrap_event_file.read_text())
        result = provision_database(layout.session(), event, database)
        notes.append(f"user {result['username']} ({', '.join(result['grants'].get('users', []))})")
    with phases.phase("local runner + API gateway") as notes:
        start_runner(layout)
        sources = runner_status(layout).get("mappings", [])
        notes.append(f"{len(sources)} event sources")
        notes.append(f"POST {start_gateway(layout)}")
    return stack


def down(layout: Layout) -> None:
    moto, database = layout.servers()
    for label, stop in (
        ("runner", lambda: processes.stop(layout.runner_pidfile, timeout_s=RUNNER_STOP_TIMEOUT_S)),
        ("gateway", lambda: processes.stop(layout.gateway_pidfile)),
        ("moto", moto.stop),
        ("MariaDB", database.stop),
    ):
        pid = stop()
        print(f"{PROG}: {label:<8} {f'stopped (pid {pid})' if pid else 'was not running'}")
    for path in layout.state_paths():
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    print(f"{PROG}: removed the local stack's state from {layout.local_dir}")


def status(layout: Layout) -> int:
    moto, database = layout.servers()
    runner_pid = processes.read_pid(layout.runner_pidfile)
    rows = (
        ("moto", moto.pid()),
        ("MariaDB", database.pid()),
        ("runner", runner_pid),
        ("gateway", processes.read_pid(layout.gateway_pidfile)),
    )
    for label, pid in rows:
        print(f"{PROG}: {label:<8} {f'running (pid {pid})' if pid else 'stopped'}")
    if runner_pid:
        print(json.dumps(runner_status(layout).get("stats", {}), sort_keys=True))
    return 0 if all(pid for _, pid in rows) else 3


DEMO_PHASES = UP_PHASES + 5


def demo(layout: Layout, args: argparse.Namespace) -> int:
    """The whole system: up, registrations through SQS and HTTP, a bulk import, a release
    while they flow, drain, verify every ledger and the lake, the per-day table and chart."""
    phases = Phases(DEMO_PHASES, layout.log_file)
    started = time.monotonic()
    stack = up(layout, phases)
    common = ["--endpoint-url", layout.endpoint_url, "--outputs", str(layout.outputs_file)]
    run_id = f"d{time.strftime('%Y%m%dt%H%M%S')}"
    ledgers: list[Path] = []
    via_http = round(args.count * args.http_share)
    with phases.phase("send registrations") as notes:
        # Each part is its own run (own user ids, own ledger), verified on its own below.
        for via, count in (("sqs", args.count - via_http), ("http", via_http)):
            if count < 1:
                continue
            extra = (
                ["--ingest-url", layout.gateway_url_file.read_text().strip()]
                if via == "http"
                else []
            )
            code = send_messages.main([
                *common, "--ledger-dir", str(layout.ledger_dir), "--via", via, *extra,
                "--run-id", f"{run_id}-{via}",
                "-n", str(count), "--seed", str(args.seed), "--invalid", str(args.invalid),
                "--duplicates", str(args.duplicates), "--out-of-order", str(args.out_of_order),
            ])  # fmt: skip
            if code != 0:
                raise cli.UserError(f"sending via {via} failed; the ledger says which messages")
            ledgers.append(ledger.resolve(None, layout.ledger_dir))
            notes.append(f"{count} via {via.upper()}")
    with phases.phase("bulk import from S3") as notes:
        export = demo_export(layout.local_dir / f"{run_id}-export.csv", run_id, args.import_rows)
        code = import_users.main([str(export), *common, "--ledger-dir", str(layout.ledger_dir)])
        if code != 0:
            raise cli.UserError("the import failed (see the log)")
        ledgers.append(ledger.resolve(None, layout.ledger_dir))
        notes.append(f"{args.import_rows} CSV rows (2 malformed) through the importer")
    with phases.phase("release a new handler version") as notes:
        code = release.run([
            *common, "start", "--zip", str(demo_release_zip(layout.local_dir, run_id)),
            "--canary", "50", "--bake", str(args.bake), "--poll", "5",
        ])  # fmt: skip
        if code != 0:
            raise cli.UserError("the release was rolled back (see the log)")
        state = alias.read(layout.session().client("lambda"), stack.function_name)
        notes.append(f"canary 50 % for {args.bake} s, promoted: {state.describe()}")
    with phases.phase("drain + verify (stores, DLQ, lake)") as notes:
        left = drain.wait_drained(
            layout.session().client("sqs"), stack.queue_url, timeout_s=args.timeout
        )
        if not left.empty:
            raise cli.UserError(f"not drained after {args.timeout:.0f} s: {left}")
        failed = [path.name for path in ledgers if verify.main([*common, "--ledger", str(path)])]
        if failed:
            raise cli.UserError(f"verify failed for {', '.join(failed)} (see the log)")
        notes.append(f"{len(ledgers)} runs passed")
    with phases.phase("the lake, per day") as notes:
        chart = layout.local_dir / "registrations-per-day.png"
        if lake.run([*common, "--chart", "--chart-path", str(chart)]) != 0:
            raise cli.UserError("make lake failed (see the log)")
        notes.append(f"chart {chart}")
    stats = runner_status(layout).get("stats", {})
    print(
        f"\n{PROG}: demo passed in {time.monotonic() - started:.0f} s. The runner ran "
        f"{stats.get('invocations', 0)} invocations, {stats.get('received', 0)} records; "
        f"every registration is in DynamoDB and MySQL, every invalid one in the DLQ with its "
        f"reason, every change in the lake:"
    )
    lake.run([*common])
    print(
        f"{PROG}: next: `make logs`, `make verify`, `make lake SQL=...`, `make release`, "
        f"`make import FILE=...`, `make send VIA=http`; what each phase printed: "
        f"{layout.log_file}; `make local-down` stops everything"
    )
    return 0


def demo_export(path: Path, run_id: str, rows: int) -> Path:
    """A CRM-style CSV export: valid rows, one invalid e-mail, and two rows no parser can read."""
    lines = ["user_id,name,email,registered_at"]
    for n in range(rows - 3):
        lines.append(f"{run_id}-imp-{n},Imported User {n},imp{n}@example.com,2026-01-01T00:00:00Z")
    lines.append(f"{run_id}-imp-bad,Bad Email,not-an-email,2026-01-01T00:00:00Z")
    lines.append('"unterminated quote,x,y,z')
    lines.append("too,many,fields,in,this,row")
    path.write_text("\n".join(lines) + "\n")
    return path


def demo_release_zip(local_dir: Path, run_id: str) -> Path:
    """The handler's own sources with a release marker: new code, so a new version to release."""
    source = local_dir / "release" / "registration"
    shutil.rmtree(source.parent, ignore_errors=True)
    shutil.copytree(
        LAMBDAS_DIR / "registration", source, ignore=shutil.ignore_patterns("__pycache__")
    )
    app = source / "app.py"
    app.write_text(app.read_text() + f"\n# demo release {run_id}\n")
    output = source.parent / "registration.zip"
    if package.main(["--source-dir", str(source), "--output", str(output)]) != 0:
        raise cli.UserError("packaging the release failed (see the log)")
    return output


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    layout = Layout(
        args.local_dir.resolve(), args.moto_port, args.db_port, args.mariadb, args.gateway_port
    )
    if args.command == "up":
        up(layout)
        return 0
    if args.command == "down":
        down(layout)
        return 0
    if args.command == "status":
        return status(layout)
    return demo(layout, args)


def run(argv: Sequence[str] | None = None) -> int:
    return cli.run(PROG, main, argv)


if __name__ == "__main__":
    sys.exit(run())
