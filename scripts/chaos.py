"""`make chaos N=10000`: hostile messages under a database crash and DynamoDB throttling; 0 lost.

    python -m scripts.chaos --n 10000                 # against the stack of `make local-up`
    python -m scripts.chaos --n 1000 --outage 3 --throttle 4

Sends N messages (~5% invalid in varied ways, ~3% duplicates, stale and shuffled updates,
injection / emoji / right-to-left names), SIGKILLs MariaDB at 15% settled and restarts it
`--outage` seconds later, makes DynamoDB throttle for `--throttle` seconds at 50% settled (a
fault proxy in front of moto; only the chaos runner's function environment points at it), waits
for the queue to drain and reconciles both stores and the DLQ against the ledger. Sending pauses
while `--backlog` messages are queued (moto's SQS cost per call grows with the queue length).

The stack's own runner is paused for the run (the chaos runner replaces it) and restarted after.
The queue's visibility timeout is lowered to `--visibility` for the run and restored: with the
local profile's 180 s a failed record would wait three minutes per retry. It must exceed both
fault windows, so a record fails at most once per window and stays below maxReceiveCount (5).
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from scripts import local_runner, local_stack, verify
from scripts.harness import cli
from scripts.harness.chaos import faults
from scripts.harness.chaos import messages as chaos_messages
from scripts.harness.chaos.fault_proxy import FaultProxy
from scripts.harness.lambda_local import code_zip
from scripts.harness.messages import dlq, drain, ledger, reconcile, sender, store_readers
from scripts.harness.messages import registrations as reg
from scripts.harness.stack import aws_session, outputs, processes
from scripts.harness.stack.mariadb import MariaDBServer

PROG = "chaos"
BACKLOG_CHECK_EVERY = 10  # SendMessageBatch calls between two queue-depth reads
LOSS_CHECKS = (
    "users in DynamoDB",
    "users in MySQL",
    "invalid messages in the DLQ with their reason",
    "valid messages not dead-lettered",
)


@dataclass(frozen=True)
class ChaosConfig:
    count: int = 10_000
    seed: int = 1
    outage_s: float = 10.0
    throttle_s: float = 8.0
    concurrency: int = 4
    drain_timeout_s: float = 1800.0
    # moto's SQS scans every stored message on each receive and delete, so 10,000 queued
    # messages make every call ~10x slower than 1,000 (SQS itself has no such cost). Capping
    # the backlog keeps the run linear; every message is still sent and checked.
    max_backlog: int = 1000


@dataclass(frozen=True)
class ChaosTarget:
    """A deployed stack whose database this run may kill."""

    endpoint_url: str
    stack: outputs.StackOutputs
    database: MariaDBServer
    zip_path: Path
    ledger_dir: Path


@dataclass
class Figures:
    sent: int = 0
    rejected_at_send: int = 0
    valid: int = 0
    invalid: int = 0
    invalid_in_dlq: int = 0
    duplicates: int = 0
    duplicates_absorbed: int = 0
    lost: int = 0
    retries: int = 0
    throttles_injected: int = 0
    database_down_s: float = 0.0
    wall_s: float = 0.0
    ok: bool = False

    def lines(self) -> list[str]:
        return [
            f"sent                 {self.sent} (+{self.rejected_at_send} rejected by SQS at send)",
            f"valid                {self.valid}",
            f"invalid -> DLQ       {self.invalid_in_dlq}/{self.invalid} with their reason",
            f"duplicates absorbed  {self.duplicates_absorbed}/{self.duplicates}",
            f"lost                 {self.lost}",
            f"retries observed     {self.retries} records handed back to SQS; "
            f"{self.throttles_injected} throttling errors injected; MariaDB down "
            f"{self.database_down_s:.1f} s",
            f"wall time            {self.wall_s:.1f} s",
        ]


def send(
    sqs: object,
    target: ChaosTarget,
    plan: list[reg.PlannedMessage],
    run_id: str,
    max_backlog: int,
) -> Path:
    """Send the plan in order with the ledger the reconcile reads (like send_messages).

    Every `BACKLOG_CHECK_EVERY` batches it first waits until fewer than `max_backlog` are queued.
    """
    header = ledger.RunHeader(
        run_id, datetime.now(UTC).isoformat(), "local", target.stack.queue_url, "chaos"
    )
    path = ledger.new_path(target.ledger_dir)
    with ledger.LedgerWriter(path, header) as writer:
        for number, batch in enumerate(sender.batches(plan)):
            if number % BACKLOG_CHECK_EVERY == 0:
                drain.wait_below(sqs, target.stack.queue_url, max_backlog)
            for result in sender.send_batch(sqs, target.stack.queue_url, batch):
                entry = ledger.SentMessage.of(
                    result.index, plan[result.index], result.message_id, result.window
                )
                if result.error and not result.message_id:
                    entry = dataclasses.replace(entry, error=result.error)
                writer.write(entry)
    return path


def start_runner(
    target: ChaosTarget, proxy: FaultProxy, config: ChaosConfig, code_dir: Path
) -> local_runner.Runner:
    """helper-3's runner, in process, with the function's AWS calls routed through the proxy."""
    session = aws_session.session(aws_session.local_target(target.endpoint_url))
    runner = local_runner.Runner(
        session,
        local_runner.discover(session),
        target.zip_path.parent,
        local_cap=config.concurrency,
        wait_s=2,
        environment={"AWS_ENDPOINT_URL": proxy.endpoint_url},
    )
    runner.start()
    return runner


def reconcile_run(target: ChaosTarget, ledger_path: Path) -> reconcile.Report:
    """What verify checks, read from the stores directly (not through the proxy)."""
    run = ledger.read(ledger_path)
    session = aws_session.session(aws_session.local_target(target.endpoint_url))
    stack = target.stack
    winners, _ = reconcile.expected_users(run.sent)
    user_ids = set(winners) | {m.user_id for m in run.sent if m.user_id}
    dynamodb = store_readers.read_dynamodb(session.client("dynamodb"), stack.table_name, user_ids)
    user, password = store_readers.credentials(
        session.client("secretsmanager"), stack.db_secret_arn
    )
    environment = session.client("lambda").get_function(FunctionName=stack.function_name)
    variables = environment["Configuration"].get("Environment", {}).get("Variables", {})
    database = verify.mysql_target(stack, variables, None, None, None)
    with store_readers.connect(database, user, password) as connection:
        mysql = store_readers.read_mysql(connection, user_ids)
    dead = dlq.peek(session.client("sqs"), stack.dlq_url)
    return reconcile.reconcile(run, dynamodb, mysql, dead)


def figures(run: ledger.Ledger, report: reconcile.Report) -> Figures:
    checks = {check.name: check for check in report.checks}
    grouped = reconcile.by_outcome(run.sent)
    invalid = len(grouped.get(reg.DLQ, []))
    lost = sum(checks[name].expected - checks[name].found for name in LOSS_CHECKS)
    return Figures(
        sent=len(run.sent),
        rejected_at_send=len(run.messages) - len(run.sent),
        valid=len(run.sent) - invalid,
        invalid=invalid,
        invalid_in_dlq=checks["invalid messages in the DLQ with their reason"].found,
        duplicates=checks["duplicates absorbed"].expected,
        duplicates_absorbed=checks["duplicates absorbed"].found,
        lost=lost,
        ok=report.ok,
    )


def run_chaos(target: ChaosTarget, config: ChaosConfig) -> Figures:
    """The whole run; returns the figures (`ok` False on any loss or mismatch)."""
    started = time.monotonic()
    run_id = f"chaos{datetime.now(UTC):%Y%m%dt%H%M%S}"
    plan = chaos_messages.build(config.count, config.seed, run_id)
    sqs = aws_session.session(aws_session.local_target(target.endpoint_url)).client("sqs")
    proxy = FaultProxy(target.endpoint_url).start()
    code_dir = Path(tempfile.mkdtemp(prefix="chaos-code-"))
    runner: local_runner.Runner | None = None
    schedule: faults.FaultSchedule | None = None
    try:
        code_zip.extract(target.zip_path, code_dir)
        runner = start_runner(target, proxy, config, code_dir)
        stats = runner.stats
        schedule = faults.FaultSchedule(
            progress=lambda: stats.snapshot().get("deleted", 0),
            total=len(plan),
            database=target.database,
            proxy=proxy,
            outage_s=config.outage_s,
            throttle_s=config.throttle_s,
        )
        schedule.start()
        ledger_path = send(sqs, target, plan, run_id, config.max_backlog)
        print(f"{PROG}: {len(plan)} messages sent after {time.monotonic() - started:.1f} s")
        schedule.join(timeout=config.drain_timeout_s)
        left = drain.wait_drained(sqs, target.stack.queue_url, timeout_s=config.drain_timeout_s)
        if not left.empty:
            raise cli.UserError(f"queue not drained after {config.drain_timeout_s:.0f} s: {left}")
    finally:
        if schedule is not None:
            schedule.stop()
        if runner is not None:
            runner.shutdown()
        proxy.stop()
        shutil.rmtree(code_dir, ignore_errors=True)
    report = reconcile_run(target, ledger_path)
    print(reconcile.table(report))
    for line in report.mismatches[:25]:
        print(f"  MISMATCH {line}")
    for note in report.notes:
        print(f"  note: {note}")
    result = figures(ledger.read(ledger_path), report)
    result.retries = runner.stats.snapshot().get("retried", 0)
    result.throttles_injected = proxy.injected
    result.database_down_s = schedule.log.database_down_s
    result.wall_s = time.monotonic() - started
    if schedule.log.error or not result.database_down_s or not proxy.injected:
        print(f"{PROG}: a fault was not injected ({schedule.log.error or 'run too short'})")
        result.ok = False
    return result


# ------------------------------------------------------------------------------------- the CLI


def _positive(kind: type) -> object:
    def parse(text: str) -> object:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive: {text}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(PROG, __doc__)
    parser.add_argument("--n", "-n", dest="count", type=_positive(int), default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--outage", type=_positive(float), default=10.0, help="MariaDB down (s)")
    parser.add_argument("--throttle", type=_positive(float), default=8.0, help="throttling (s)")
    parser.add_argument("--visibility", type=_positive(int), default=20, help="queue, for the run")
    parser.add_argument("--concurrency", type=_positive(int), default=4)
    parser.add_argument("--timeout", type=_positive(float), default=1800.0, help="drain wait (s)")
    parser.add_argument(
        "--backlog", type=_positive(int), default=1000, help="most messages queued while sending"
    )
    parser.add_argument("--local-dir", type=Path, default=local_stack.Layout.local_dir)
    parser.add_argument("--moto-port", type=int, default=local_stack.Layout.moto_port)
    parser.add_argument("--db-port", type=int, default=local_stack.Layout.db_port)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.visibility <= max(args.outage, args.throttle):
        raise cli.UserError("--visibility must exceed --outage and --throttle (see --help)")
    if args.count < 400:
        raise cli.UserError("--n must be at least 400 (the fault windows need traffic)")
    layout = local_stack.Layout(args.local_dir.resolve(), args.moto_port, args.db_port)
    moto, database = layout.servers()
    if moto.pid() is None or database.pid() is None or not layout.outputs_file.is_file():
        raise cli.UserError(f"the local stack in {layout.local_dir} is not up: `make local-up`")
    stack = outputs.load("local", layout.outputs_file)
    target = ChaosTarget(
        layout.endpoint_url,
        stack,
        database,
        local_runner.DEFAULT_ZIP,
        layout.ledger_dir,
    )
    config = ChaosConfig(
        args.count,
        args.seed,
        args.outage,
        args.throttle,
        args.concurrency,
        args.timeout,
        args.backlog,
    )
    sqs = layout.session().client("sqs")
    previous = sqs.get_queue_attributes(
        QueueUrl=stack.queue_url, AttributeNames=["VisibilityTimeout"]
    )["Attributes"]["VisibilityTimeout"]
    paused = processes.stop(layout.runner_pidfile, timeout_s=local_stack.RUNNER_STOP_TIMEOUT_S)
    sqs.set_queue_attributes(
        QueueUrl=stack.queue_url, Attributes={"VisibilityTimeout": str(args.visibility)}
    )
    try:
        result = run_chaos(target, config)
    finally:
        sqs.set_queue_attributes(
            QueueUrl=stack.queue_url, Attributes={"VisibilityTimeout": previous}
        )
        if paused:
            local_stack.start_runner(layout)
    for line in result.lines():
        print(f"{PROG}: {line}")
    print(f"{PROG}: {'passed' if result.ok and result.lost == 0 else 'FAILED'}")
    return 0 if result.ok and result.lost == 0 else 1


def run(argv: Sequence[str] | None = None) -> int:
    return cli.run(PROG, main, argv)


if __name__ == "__main__":
    sys.exit(run())
