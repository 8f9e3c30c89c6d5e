"""`make send N=1000`: put registrations on the queue and write the ledger verify checks.

    python -m scripts.send_messages -n 1000 --duplicates 0.05 --invalid 0.05 --out-of-order 0.05
    python -m scripts.send_messages --from events/tutorial-legacy.json     # or a .json/.jsonl file
    python -m scripts.send_messages --profile aws -n 100                   # real AWS, same code
    python -m scripts.send_messages --via http --concurrency 8 -n 1000     # through the ingest API

The queue comes from the Terraform outputs of the profile unless --queue-url is given. The
ledger goes to .local/ledgers/<timestamp>.jsonl and .local/ledgers/latest points at it.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from scripts.harness import cli
from scripts.harness.messages import http_sender, ledger, registrations, sender
from scripts.harness.stack import aws_session, outputs

PROG = "send_messages"


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(PROG, __doc__)
    cli.add_profile(parser)
    cli.add_endpoint(parser)
    parser.add_argument(
        "-n", "--count", type=cli.positive_int, default=100, help="messages to generate"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed for generated content")
    parser.add_argument("--duplicates", type=_fraction, default=0.0, help="fraction resent")
    parser.add_argument("--invalid", type=_fraction, default=0.0, help="fraction invalid")
    parser.add_argument(
        "--out-of-order", type=_fraction, default=0.0, help="fraction of stale updates sent late"
    )
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        nargs="+",
        help="send these bodies instead (JSON body/list/SQS event, or JSONL)",
    )
    parser.add_argument("--queue-url", help="override the queue_url output")
    parser.add_argument("--outputs", type=Path, help="stack outputs JSON instead of Terraform")
    parser.add_argument("--run-id", help="prefix of generated user ids (default: from the time)")
    parser.add_argument("--ledger-dir", type=Path, default=ledger.LEDGER_DIR)
    parser.add_argument(
        "--via",
        choices=("sqs", "http"),
        default="sqs",
        help="sqs: SendMessageBatch to the queue; http: POST each to the ingest API",
    )
    parser.add_argument(
        "--concurrency", type=cli.positive_int, default=4, help="http: requests in flight"
    )
    parser.add_argument("--ingest-url", help="http: override the URL (default: ingest_url)")
    parser.add_argument("--api-key", help="http: API key value (default: read by its id)")
    return parser


def plan(args: argparse.Namespace, run_id: str) -> tuple[list[registrations.PlannedMessage], str]:
    """The messages to send and a description of where they came from."""
    if args.source:
        bodies: list[str] = []
        for path in args.source:
            try:
                bodies += registrations.read_bodies(path)
            except (OSError, ValueError, KeyError) as err:
                raise cli.UserError(f"cannot read bodies from {path}: {err}") from err
        described = "files: " + ", ".join(str(p) for p in args.source)
        return registrations.classify(bodies, datetime.now(UTC)), described
    mix = registrations.Mix(args.duplicates, args.invalid, args.out_of_order)
    try:
        planned = registrations.generate(args.count, mix, args.seed, run_id)
    except ValueError as err:
        raise cli.UserError(str(err)) from err
    return planned, f"generated: seed {args.seed}"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    target = cli.target(args)
    queue_url = args.queue_url or outputs.load(args.profile, args.outputs).queue_url
    started = datetime.now(UTC)
    run_id = args.run_id or f"r{started:%Y%m%dt%H%M%S}"
    messages, described = plan(args, run_id)
    session = aws_session.session(target)
    sqs = session.client("sqs")
    # Fail before a ledger exists (and `latest` moves) if the queue cannot be reached.
    sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    via_http = None
    if args.via == "http":
        via_http = http_sender.resolve_target(
            args.profile,
            session,
            outputs_file=args.outputs,
            url=args.ingest_url,
            api_key=args.api_key,
        )
    header = ledger.RunHeader(
        run_id=run_id,
        created_at=started.isoformat(),
        profile=args.profile,
        queue_url=queue_url,
        source=described,
        options={
            k: v
            for k, v in vars(args).items()
            if k in ("count", "seed", "duplicates", "invalid", "out_of_order", "via")
        },
    )
    path = ledger.new_path(args.ledger_dir, started)
    clock = time.monotonic()
    failed = rejected_by_api = 0
    with (
        ledger.LedgerWriter(path, header) as writer,
        tqdm(total=len(messages), unit="msg", desc="send", disable=None) as progress,
    ):
        if via_http is None:
            results = (
                result
                for batch in sender.batches(messages)
                for result in sender.send_batch(sqs, queue_url, batch)
            )
        else:
            results = http_sender.send_all(messages, via_http, args.concurrency)
        for result in results:
            entry = ledger.SentMessage.of(
                result.index, messages[result.index], result.message_id, result.window
            )
            if result.error and not result.message_id:
                entry = dataclasses.replace(entry, error=result.error)
                # The API refusing a body planned to be invalid is its job, not a failure.
                refused_as_planned = via_http is not None and entry.outcome == registrations.DLQ
                failed += not refused_as_planned
                rejected_by_api += refused_as_planned
            writer.write(entry)
            progress.update(1)
    elapsed = time.monotonic() - clock
    sent = len(messages) - failed - rejected_by_api
    where = via_http.describe() if via_http else f"{queue_url} via {target.describe()}"
    print(
        f"{PROG}: sent {sent}/{len(messages)} to {where} in "
        f"{elapsed:.1f} s ({sent / elapsed if elapsed else 0:.0f} msg/s); ledger {path}"
    )
    if rejected_by_api:
        print(f"{PROG}: the API refused {rejected_by_api} invalid body(ies), as planned")
    if failed:
        print(f"{PROG}: {failed} message(s) were refused by SQS (see the ledger)", file=sys.stderr)
    return 1 if failed else 0


def run(argv: Sequence[str] | None = None) -> int:
    return cli.run(PROG, main, argv)


if __name__ == "__main__":
    sys.exit(run())
