"""`make redrive`: move the DLQ's messages back to the registration queue.

    python -m scripts.redrive                    # local profile
    python -m scripts.redrive --profile aws
    python -m scripts.redrive --max 10           # only ten (always the receive/send/delete loop)

Legacy bodies (ordered by their send time) always go through a receive/send/delete loop that
carries their original SentTimestamp as the `original_sent_timestamp` attribute; the rest move
with StartMessageMoveTask where the endpoint has it (AWS), else with the same loop (moto).
Redrive after fixing what made the messages fail: invalid bodies go straight back to the DLQ.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from scripts.harness import cli
from scripts.harness.messages import drain, queue_move
from scripts.harness.stack import aws_session, outputs

PROG = "redrive"
# One attempt: on an endpoint without the API, retrying a 500 only delays the fallback.
PROBE_CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=70)


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(PROG, __doc__)
    cli.add_profile(parser)
    cli.add_endpoint(parser)
    parser.add_argument("--outputs", type=Path, help="stack outputs JSON instead of Terraform")
    parser.add_argument("--max", type=cli.positive_int, help="move at most this many messages")
    return parser


def redrive_all(
    sqs: Any, stack: outputs.StackOutputs, limit: int, endpoint: str
) -> queue_move.MoveResult:
    """Legacy bodies by the copy loop (keeping their send time), then the rest by move task."""
    started_ms = queue_move.now_ms()
    legacy = queue_move.copy_loop(
        sqs, stack.dlq_url, stack.queue_url, limit,
        select=queue_move.order_depends_on_send_time, sent_before_ms=started_ms,
    )  # fmt: skip
    if legacy.moved:
        print(f"{PROG}: {legacy.moved} legacy message(s) copied with their original send time")
    if legacy.failed or legacy.moved >= limit:
        return legacy
    try:
        rest = queue_move.move_task(sqs, stack.dlq_arn, stack.queue_arn)
    except ClientError as err:
        if not queue_move.unsupported(err):
            raise
        print(f"{PROG}: {endpoint} has no StartMessageMoveTask; copying instead")
        rest = queue_move.copy_loop(
            sqs, stack.dlq_url, stack.queue_url, limit - legacy.moved, sent_before_ms=started_ms
        )
    method = rest.method if not legacy.moved else f"{legacy.method} + {rest.method}"
    return queue_move.MoveResult(legacy.moved + rest.moved, method, rest.failed, rest.detail)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stack = outputs.load(args.profile, args.outputs)
    target = cli.target(args)
    sqs = aws_session.session(target).client("sqs", config=PROBE_CONFIG)
    before = drain.depth(sqs, stack.dlq_url)
    if before.visible == 0:
        print(f"{PROG}: the DLQ is empty ({before})")
        return 0
    # Only what is there now: with the function running, a message that fails again is back in
    # the DLQ within seconds and would otherwise be moved forever.
    limit = before.visible if args.max is None else min(args.max, before.visible)
    if args.max is not None:
        result = queue_move.copy_loop(
            sqs, stack.dlq_url, stack.queue_url, limit, sent_before_ms=queue_move.now_ms()
        )
    else:
        result = redrive_all(sqs, stack, limit, target.describe())
    print(
        f"{PROG}: moved {result.moved} message(s) from the DLQ to {stack.queue_url} "
        f"({result.method}); DLQ now {drain.depth(sqs, stack.dlq_url)}"
    )
    if result.failed:
        print(f"{PROG}: {result.failed} failed {result.detail}".rstrip(), file=sys.stderr)
    return 1 if result.failed else 0


def run(argv: Sequence[str] | None = None) -> int:
    return cli.run(PROG, main, argv)


if __name__ == "__main__":
    sys.exit(run())
