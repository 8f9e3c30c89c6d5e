"""`make logs`: print (and with --follow, tail) the function's log group.

    python -m scripts.logs                        # the last 10 minutes
    python -m scripts.logs --since 1h --follow    # then keep printing new lines
    python -m scripts.logs --filter REPORT        # a CloudWatch Logs filter pattern
    python -m scripts.logs --profile aws --follow

Locally the runner writes the same START/END/REPORT and function lines that Lambda writes on
AWS, so this command reads both the same way (FilterLogEvents). A function with the JSON log
format (the aws profile deploys one) gets `platform.*` JSON events instead: they are printed as
their Text lines, and the filters START, END, REPORT and INIT_START match either format (they are
applied here; any other pattern goes to CloudWatch Logs as it is).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scripts.harness import cli
from scripts.harness.lambda_local import logs as lambda_logs
from scripts.harness.stack import aws_session, outputs

PROG = "logs"
DURATION = re.compile(r"^(\d+)([smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
FOLLOW_INTERVAL_S = 2.0
PLATFORM_KEYWORDS = ("INIT_START", "START", "END", "REPORT")


def duration_s(text: str) -> int:
    match = DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"use a number and s/m/h/d, e.g. 10m: {text!r}")
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)]


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(PROG, __doc__)
    cli.add_profile(parser)
    cli.add_endpoint(parser)
    parser.add_argument("--outputs", type=Path, help="stack outputs JSON instead of Terraform")
    parser.add_argument("--since", type=duration_s, default=600, help="e.g. 30s, 10m, 2h")
    parser.add_argument("--filter", dest="pattern", help="CloudWatch Logs filter pattern")
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    return parser


def events(logs: Any, group: str, start_ms: int, pattern: str | None) -> Iterator[dict[str, Any]]:
    """Every event since `start_ms` that matches `pattern`, following nextToken."""
    keyword = pattern.strip() if pattern and pattern.strip() in PLATFORM_KEYWORDS else None
    request: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
    if pattern and keyword is None:
        request["filterPattern"] = pattern
    while True:
        response = logs.filter_log_events(**request)
        for event in response.get("events", []):
            if keyword is None or lambda_logs.render(event["message"]).startswith(keyword + " "):
                yield event
        token = response.get("nextToken")
        if not token or token == request.get("nextToken"):
            return
        request["nextToken"] = token


def format_event(event: dict[str, Any]) -> str:
    at = datetime.fromtimestamp(event["timestamp"] / 1000, UTC)
    stream = event.get("logStreamName", "")
    message = lambda_logs.render(event["message"]).rstrip()
    return f"{at:%H:%M:%S}.{at.microsecond // 1000:03d} {stream[-8:]} {message}"


def tail(
    logs: Any,
    group: str,
    start_ms: int,
    pattern: str | None,
    *,
    follow: bool,
    emit: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Print events in time order; with `follow`, poll for new ones until interrupted."""
    seen: set[str] = set()
    printed = 0
    while True:
        batch = sorted(events(logs, group, start_ms, pattern), key=lambda e: e["timestamp"])
        for event in batch:
            if event["eventId"] not in seen:
                emit(format_event(event))
                printed += 1
            start_ms = max(start_ms, event["timestamp"])
        if not follow:
            return printed
        # The next poll starts at the newest timestamp: remember only the events it repeats.
        if batch:
            seen = {e["eventId"] for e in batch if e["timestamp"] >= start_ms}
        sleep(FOLLOW_INTERVAL_S)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stack = outputs.load(args.profile, args.outputs)
    logs = aws_session.session(cli.target(args)).client("logs")
    start_ms = int((time.time() - args.since) * 1000)
    printed = tail(logs, stack.log_group_name, start_ms, args.pattern, follow=args.follow)
    if printed == 0:
        print(f"{PROG}: no events in {stack.log_group_name} for the last {args.since} s",
              file=sys.stderr)  # fmt: skip
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    return cli.run(PROG, main, argv)


if __name__ == "__main__":
    sys.exit(run())
