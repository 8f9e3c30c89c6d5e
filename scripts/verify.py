"""`make verify`: check DynamoDB, MySQL and the DLQ against the latest send ledger.

    python -m scripts.verify                      # latest ledger, local profile
    python -m scripts.verify --ledger .local/ledgers/<run>.jsonl --profile aws

Every valid user must be in both stores once, identical, at its latest registered_at version;
every invalid message in the DLQ with its failure_reason; duplicates and stale updates absorbed.
The DLQ is read without consuming it. Exit status 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from scripts import lake
from scripts.harness import cli
from scripts.harness.messages import dlq, ledger, reconcile, store_readers
from scripts.harness.stack import aws_session, outputs

PROG = "verify"
MAX_MISMATCH_LINES = 25


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(PROG, __doc__)
    cli.add_profile(parser)
    cli.add_endpoint(parser)
    parser.add_argument("--ledger", type=Path, help="ledger file (default: the latest run)")
    parser.add_argument("--outputs", type=Path, help="stack outputs JSON instead of Terraform")
    parser.add_argument("--db-host", help="reach MySQL here instead (e.g. an SSM tunnel)")
    parser.add_argument("--db-port", type=int, help="port for --db-host")
    parser.add_argument("--db-ca", type=Path, help="CA bundle when the function uses DB_TLS=verify")
    return parser


def judge(
    session: aws_session.SessionLike,
    stack: outputs.StackOutputs,
    run: ledger.Ledger,
    *,
    host: str | None = None,
    port: int | None = None,
    ca: Path | None = None,
) -> reconcile.Report:
    """Read the ledger's users from both stores, the stray rows of its scope and the DLQ; judge."""
    winners, _ = reconcile.expected_users(run.sent)
    user_ids = set(winners) | {m.user_id for m in run.sent if m.user_id}
    dynamodb = session.client("dynamodb")
    stored_dynamodb = store_readers.read_dynamodb(dynamodb, stack.table_name, user_ids)
    scope = reconcile.run_scope(run)
    with store_readers.open_mysql(session, stack, host=host, port=port, ca=ca) as connection:
        stored_mysql = store_readers.read_mysql(connection, user_ids)
        keys = None
        if scope is not None:
            keys = reconcile.StoreKeys(
                dynamodb=frozenset(
                    user.user_id
                    for page in store_readers.scan_dynamodb(
                        dynamodb, stack.table_name, prefix=scope
                    )
                    for user in page
                ),
                mysql=frozenset(
                    user.user_id
                    for page in store_readers.scan_mysql(connection, prefix=scope)
                    for user in page
                ),
            )
    dead_letters = dlq.peek(session.client("sqs"), stack.dlq_url)
    return reconcile.reconcile(run, stored_dynamodb, stored_mysql, dead_letters, keys)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run = ledger.read(ledger.resolve(args.ledger))
    if not run.sent:
        raise cli.UserError(f"{run.path} records no message accepted by SQS: nothing to verify")
    stack = outputs.load(args.profile, args.outputs)
    target = cli.target(args)
    session = aws_session.session(target)
    report = judge(session, stack, run, host=args.db_host, port=args.db_port, ca=args.db_ca)
    print(f"{PROG}: run {run.header.run_id} ({run.path.name}) against {target.describe()}")
    print(reconcile.table(report))
    for line in report.mismatches[:MAX_MISMATCH_LINES]:
        print(f"  MISMATCH {line}")
    if len(report.mismatches) > MAX_MISMATCH_LINES:
        print(f"  ... and {len(report.mismatches) - MAX_MISMATCH_LINES} more")
    if run.summary is None or run.summary.get("status") != "complete":
        report.notes.append("the send run did not complete: only its sent messages are checked")
    for note in report.notes:
        print(f"  note: {note}")
    lake_ok = check_lake(session, args)
    ok = report.ok and lake_ok
    print(f"{PROG}: {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


def check_lake(session: aws_session.SessionLike, args: argparse.Namespace) -> bool:
    """With a change stream: the lake has each table user's latest version, each change once."""
    bucket = outputs.load_raw(args.profile, args.outputs).get("lake_bucket")
    if not bucket:
        return True
    stack = outputs.load(args.profile, args.outputs)
    versions = {
        user.user_id: user.version
        for page in store_readers.scan_dynamodb(session.client("dynamodb"), stack.table_name)
        for user in page
    }
    found = lake.check(session.client("s3"), bucket, versions)
    print(f"{PROG}: lake s3://{bucket}: {len(versions)} users, {len(found)} problem(s)")
    for line in found[:MAX_MISMATCH_LINES]:
        print(f"  MISMATCH {line}")
    return not found


def run(argv: Sequence[str] | None = None) -> int:
    return cli.run(PROG, main, argv)


if __name__ == "__main__":
    sys.exit(run())
