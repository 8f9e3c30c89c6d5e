"""`make chaos N=10000`: hostile messages under store outages, then redrive + reconcile; 0 lost.

    python -m scripts.chaos --n 10000                 # against the stack of `make local-up`
    python -m scripts.chaos --n 1000 --db-failures 40 --throttled 60 --dead-letter-users 20

Sends N messages (~5% invalid in varied ways, ~3% duplicates, stale and shuffled updates,
injection / emoji / right-to-left names). At 15% settled it SIGKILLs MariaDB and restarts it once
`--db-failures` records have failed against it; at 50% DynamoDB throttles (a fault proxy in front
of moto; only the chaos runner's function environment points at it) until `--throttled` calls
were refused. Every window closes on a count of requests that hit it, never on a clock.

Then the outage the retries cannot absorb: DynamoDB answers every call with HTTP 500 while
`--dead-letter-users` new users are sent, until SQS has moved all of them to the DLQ through
maxReceiveCount; MySQL, written first, is then ahead. `make reconcile --repair` must find exactly
those users divergent and leave 0; `make redrive` then replays the DLQ. Finally both stores and
the DLQ are judged against the ledger like `make verify`: every valid user once, identical, at
its latest version; every invalid message in the DLQ exactly once with its reason; 0 lost.
Sending pauses while `--backlog` messages are queued (moto's SQS cost per call grows with the
queue length).

The stack's own runner is paused for the run (the chaos runner replaces it) and restarted after.
The queue's visibility timeout is lowered to `--visibility` for the run and restored: with the
local profile's 180 s a failed record would wait three minutes per retry.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scripts import local_runner, local_stack, redrive, verify
from scripts import reconcile as reconcile_cli
from scripts.harness import cli
from scripts.harness.chaos import faults
from scripts.harness.chaos import messages as chaos_messages
from scripts.harness.chaos.fault_proxy import Fault, FaultProxy
from scripts.harness.lambda_local import code_zip
from scripts.harness.messages import drain, ledger, reconcile, sender, store_readers
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
    fault_plan: faults.FaultPlan = dataclasses.field(default_factory=faults.FaultPlan)
    dead_letter_users: int = 20
    # During the DynamoDB outage only: a short visibility timeout walks the outage's messages
    # through their maxReceiveCount receives in seconds instead of minutes.
    dead_letter_visibility_s: int = 2
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
    database_failures: int = 0
    dead_lettered: int = 0  # valid messages SQS moved to the DLQ during the DynamoDB outage
    outage_errors: int = 0
    divergent_before_repair: int = 0
    divergent_after_repair: int = 0
    divergent_at_end: int = 0  # after the redrive drained too
    redriven: int = 0
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
            f"{self.database_down_s:.1f} s ({self.database_failures} records failed meanwhile)",
            f"DynamoDB outage      {self.dead_lettered} valid messages dead-lettered after "
            f"maxReceiveCount ({self.outage_errors} HTTP 500s)",
            f"divergent stores     {self.divergent_before_repair} before reconcile --repair, "
            f"{self.divergent_after_repair} after; {self.redriven} messages redriven; "
            f"{self.divergent_at_end} at the end",
            f"wall time            {self.wall_s:.1f} s",
        ]


def send(
    sqs: Any,
    target: ChaosTarget,
    writer: ledger.LedgerWriter,
    plan: list[reg.PlannedMessage],
    *,
    max_backlog: int,
    first_seq: int = 0,
) -> None:
    """Send the plan in order into the ledger verify reads (like send_messages).

    Every `BACKLOG_CHECK_EVERY` batches it first waits until fewer than `max_backlog` are queued.
    """
    for number, batch in enumerate(sender.batches(plan)):
        if number % BACKLOG_CHECK_EVERY == 0:
            drain.wait_below(sqs, target.stack.queue_url, max_backlog)
        for result in sender.send_batch(sqs, target.stack.queue_url, batch):
            entry = ledger.SentMessage.of(
                first_seq + result.index, plan[result.index], result.message_id, result.window
            )
            if result.error and not result.message_id:
                entry = dataclasses.replace(entry, error=result.error)
            writer.write(entry)


def stores_empty(session: aws_session.SessionLike, stack: outputs.StackOutputs) -> bool:
    """Whether neither store holds a user (then every row must be explained by this run)."""
    dynamodb = session.client("dynamodb")
    with store_readers.open_mysql(session, stack) as connection:
        if store_readers.count_mysql(connection):
            return False
    return not dynamodb.scan(TableName=stack.table_name, Limit=1, Select="COUNT")["Count"]


def outage_users(run_id: str, count: int) -> list[reg.PlannedMessage]:
    """Fresh users sent while DynamoDB is down: they must end in both stores all the same."""
    planned = []
    for index in range(count):
        record = reg.Record(
            f"{run_id}-dyn{index:04d}",
            f"Outage User {index}",
            f"outage.{index}@example.com",
            reg.format_timestamp(reg.BASE_TIME + timedelta(days=1, seconds=index)),
        )
        planned.append(
            reg.PlannedMessage(reg.VALID, reg.canonical_body(record), reg.STORED, record)
        )
    return planned


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
    session = aws_session.session(aws_session.local_target(target.endpoint_url))
    return verify.judge(session, target.stack, ledger.read(ledger_path))


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


def dynamodb_outage(
    sqs: Any,
    target: ChaosTarget,
    proxy: FaultProxy,
    writer: ledger.LedgerWriter,
    config: ChaosConfig,
    *,
    run_id: str,
    first_seq: int,
) -> tuple[int, int]:
    """DynamoDB down until every outage user's message went to the DLQ by maxReceiveCount.

    Returns (messages dead-lettered, HTTP 500s answered). The stores diverge: MySQL took each
    user, DynamoDB did not.
    """
    stack = target.stack
    queue_attributes = sqs.get_queue_attributes(
        QueueUrl=stack.queue_url, AttributeNames=["VisibilityTimeout"]
    )["Attributes"]
    before = drain.depth(sqs, stack.dlq_url).total
    wanted = config.dead_letter_users
    errors_before = proxy.injected_by[Fault.OUTAGE]
    proxy.open(Fault.OUTAGE)
    print(f"{PROG}: DynamoDB down until {wanted} messages are dead-lettered", flush=True)
    sqs.set_queue_attributes(
        QueueUrl=stack.queue_url,
        Attributes={"VisibilityTimeout": str(config.dead_letter_visibility_s)},
    )
    try:
        users = outage_users(run_id, wanted)
        send(sqs, target, writer, users, max_backlog=config.max_backlog, first_seq=first_seq)
        deadline = time.monotonic() + config.drain_timeout_s
        while (dead := drain.depth(sqs, stack.dlq_url).total - before) < wanted:
            if time.monotonic() > deadline:
                raise cli.UserError(f"only {dead}/{wanted} outage messages reached the DLQ")
            time.sleep(0.5)
    finally:
        proxy.close()
        sqs.set_queue_attributes(QueueUrl=stack.queue_url, Attributes=queue_attributes)
    print(f"{PROG}: DynamoDB up again; {dead} messages dead-lettered", flush=True)
    return dead, proxy.injected_by[Fault.OUTAGE] - errors_before


def run_chaos(target: ChaosTarget, config: ChaosConfig) -> Figures:
    """The whole run; returns the figures (`ok` False on any loss or mismatch)."""
    started = time.monotonic()
    run_id = f"chaos{datetime.now(UTC):%Y%m%dt%H%M%S}"
    plan = chaos_messages.build(config.count, config.seed, run_id)
    session = aws_session.session(aws_session.local_target(target.endpoint_url))
    sqs = session.client("sqs")
    source = "chaos" if stores_empty(session, target.stack) else "chaos on used stores"
    header = ledger.RunHeader(
        run_id, datetime.now(UTC).isoformat(), "local", target.stack.queue_url, source
    )
    ledger_path = ledger.new_path(target.ledger_dir)
    proxy = FaultProxy(target.endpoint_url).start()
    code_dir = Path(tempfile.mkdtemp(prefix="chaos-code-"))
    runner: local_runner.Runner | None = None
    schedule: faults.FaultSchedule | None = None
    result = Figures()
    try:
        code_zip.extract(target.zip_path, code_dir)
        runner = start_runner(target, proxy, config, code_dir)
        stats = runner.stats
        schedule = faults.FaultSchedule(
            settled=lambda: stats.snapshot().get("deleted", 0),
            failed=lambda: stats.snapshot().get("retried", 0),
            total=len(plan),
            database=target.database,
            proxy=proxy,
            plan=config.fault_plan,
        )
        schedule.start()
        with ledger.LedgerWriter(ledger_path, header) as writer:
            send(sqs, target, writer, plan, max_backlog=config.max_backlog)
            print(f"{PROG}: {len(plan)} messages sent after {time.monotonic() - started:.1f} s")
            schedule.join(timeout=config.drain_timeout_s)
            wait_drained(sqs, target, config)
            result.dead_lettered, result.outage_errors = dynamodb_outage(
                sqs, target, proxy, writer, config, run_id=run_id, first_seq=len(plan)
            )
        repaired = reconcile_cli.reconcile_stores(session, target.stack, repair=True)
        for line in repaired.lines(repaired=True):
            print(f"{PROG}: reconcile: {line}")
        result.divergent_before_repair = repaired.divergent
        result.divergent_after_repair = repaired.still_divergent
        limit = drain.depth(sqs, target.stack.dlq_url).visible
        result.redriven = redrive.redrive_all(sqs, target.stack, limit, "moto").moved
        wait_drained(sqs, target, config)
    finally:
        if schedule is not None:
            schedule.stop()
        if runner is not None:
            runner.shutdown()
        proxy.stop()
        shutil.rmtree(code_dir, ignore_errors=True)
    result.retries = runner.stats.snapshot().get("retried", 0)
    result.throttles_injected = proxy.injected_by[Fault.THROTTLE]
    result.database_down_s = schedule.log.database_down_s
    result.database_failures = schedule.log.database_failures
    result = judge(session, target, ledger_path, result)
    result.wall_s = time.monotonic() - started
    if schedule.log.error or not (
        result.database_down_s and result.throttles_injected and result.dead_lettered
    ):
        print(f"{PROG}: a fault was not injected ({schedule.log.error or 'run too short'})")
        result.ok = False
    return result


def judge(
    session: aws_session.SessionLike, target: ChaosTarget, ledger_path: Path, observed: Figures
) -> Figures:
    """The ledger's verdict (like `make verify`) and a last whole-store divergence count."""
    after = reconcile_cli.reconcile_stores(session, target.stack, repair=False)
    report = reconcile_run(target, ledger_path)
    print(reconcile.table(report))
    for line in report.mismatches[:25]:
        print(f"  MISMATCH {line}")
    for note in report.notes:
        print(f"  note: {note}")
    verdict = figures(ledger.read(ledger_path), report)
    kept = {
        name: getattr(observed, name)
        for name in ("retries", "throttles_injected", "database_down_s", "database_failures",
                     "dead_lettered", "outage_errors", "divergent_before_repair",
                     "divergent_after_repair", "redriven")
    }  # fmt: skip
    return dataclasses.replace(
        verdict,
        **kept,
        divergent_at_end=after.divergent,
        ok=verdict.ok and after.divergent == 0 and observed.divergent_after_repair == 0,
    )


def wait_drained(sqs: Any, target: ChaosTarget, config: ChaosConfig) -> None:
    left = drain.wait_drained(sqs, target.stack.queue_url, timeout_s=config.drain_timeout_s)
    if not left.empty:
        raise cli.UserError(f"queue not drained after {config.drain_timeout_s:.0f} s: {left}")


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
    defaults = faults.FaultPlan()
    parser.add_argument(
        "--db-failures",
        type=_positive(int),
        default=defaults.database_failures,
        help="records that fail on the dead MariaDB before it restarts",
    )
    parser.add_argument(
        "--throttled",
        type=_positive(int),
        default=defaults.throttled_requests,
        help="DynamoDB calls refused by throttling before the window closes",
    )
    parser.add_argument(
        "--dead-letter-users",
        type=_positive(int),
        default=20,
        help="users sent while DynamoDB is down, until all are dead-lettered",
    )
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
        count=args.count,
        seed=args.seed,
        fault_plan=faults.FaultPlan(args.db_failures, args.throttled),
        dead_letter_users=args.dead_letter_users,
        concurrency=args.concurrency,
        drain_timeout_s=args.timeout,
        max_backlog=args.backlog,
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
