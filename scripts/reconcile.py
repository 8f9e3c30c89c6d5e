"""`make reconcile`: find users whose DynamoDB item and MySQL row differ; `--repair` fixes them.

    python -m scripts.reconcile                     # report only (exit 1 if any differ)
    python -m scripts.reconcile --repair            # write the newer version into the older store
    python -m scripts.reconcile --profile aws --db-host 127.0.0.1 --db-port 3306   # SSM tunnel

Scans both whole stores (not a ledger's users): a DynamoDB outage longer than the queue's
retries leaves MySQL ahead for the users whose messages reached the DLQ. Reports counts and the
first few user ids per kind, never names or emails. Repair uses the handler's own conditional
writes, so it is idempotent and safe while the pipeline runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from scripts.harness import cli
from scripts.harness.messages import divergence, store_readers
from scripts.harness.stack import aws_session, outputs

PROG = "reconcile"


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(PROG, __doc__)
    cli.add_profile(parser)
    cli.add_endpoint(parser)
    parser.add_argument("--repair", action="store_true", help="write the newer version over")
    parser.add_argument("--outputs", type=Path, help="stack outputs JSON instead of Terraform")
    parser.add_argument("--db-host", help="reach MySQL here instead (e.g. an SSM tunnel)")
    parser.add_argument("--db-port", type=int, help="port for --db-host")
    parser.add_argument("--db-ca", type=Path, help="CA bundle when the function uses DB_TLS=verify")
    parser.add_argument(
        "--segments", type=cli.positive_int, default=store_readers.SCAN_SEGMENTS,
        help="parallel DynamoDB scan segments",
    )  # fmt: skip
    return parser


def reconcile_stores(
    session: aws_session.SessionLike,
    stack: outputs.StackOutputs,
    *,
    repair: bool,
    segments: int = store_readers.SCAN_SEGMENTS,
    host: str | None = None,
    port: int | None = None,
    ca: Path | None = None,
) -> divergence.Summary:
    """Compare (and repair) both whole stores, with a progress bar when on a terminal."""
    dynamodb = session.client("dynamodb")
    summary = divergence.Summary()
    database = {"host": host, "port": port, "ca": ca}
    with (
        store_readers.open_mysql(session, stack, **database) as scan,
        store_readers.open_mysql(session, stack, **database) as lookup,
    ):
        # Each lookup sees the latest commit, not a snapshot from the first read.
        lookup.autocommit(True)
        total = store_readers.count_mysql(lookup) + store_readers.count_dynamodb(
            dynamodb, stack.table_name
        )
        writes = divergence.HandlerWrites(dynamodb, stack.table_name, lookup) if repair else None
        # disable=None: a bar on a terminal, nothing in logs and pipes.
        with tqdm(total=total, unit="row", desc=PROG, disable=None) as bar:
            pages = divergence.find(
                dynamodb, stack.table_name, scan, lookup, summary,
                segments=segments, progress=bar.update,
            )  # fmt: skip
            for page in pages:
                if writes is not None and page:
                    touched = divergence.repair(writes, page, summary)
                    summary.still_divergent += divergence.recheck(
                        dynamodb, stack.table_name, lookup, touched
                    )
    if repair:
        summary.still_divergent += len(summary.unordered)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stack = outputs.load(args.profile, args.outputs)
    target = cli.target(args)
    session = aws_session.session(target)
    print(f"{PROG}: {stack.table_name} and MySQL {stack.db_name} on {target.describe()}")
    summary = reconcile_stores(
        session, stack, repair=args.repair, segments=args.segments,
        host=args.db_host, port=args.db_port, ca=args.db_ca,
    )  # fmt: skip
    for line in summary.lines(repaired=args.repair):
        print(f"{PROG}: {line}")
    left = summary.still_divergent if args.repair else summary.divergent
    print(f"{PROG}: {'consistent' if left == 0 else f'{left} user(s) divergent'}")
    return 0 if left == 0 else 1


def run(argv: Sequence[str] | None = None) -> int:
    return cli.run(PROG, main, argv)


if __name__ == "__main__":
    sys.exit(run())
