"""Local API Gateway: serve the ingest REST API deployed to moto, which stores it but runs nothing.

    python -m scripts.local_gateway                      # API and stage from the Terraform outputs
    python -m scripts.local_gateway --api-id abc123 --stage v1 --port 4567

It reads the API back from the endpoint (resources, methods, validators, models, integration,
templates, usage plans and keys), refuses with one line what it cannot emulate faithfully, and
serves POST http://127.0.0.1:4567/<stage>/registrations until stopped. `make local-up` starts it.
Keys and plans are read at start: restart it after changing them.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from scripts.harness import cli
from scripts.harness.gateway import ingest_outputs, server
from scripts.harness.gateway.api import UnsupportedApiError
from scripts.harness.stack import aws_session

PROG = "local_gateway"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4567


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(PROG, __doc__)
    cli.add_endpoint(parser)
    parser.add_argument("--outputs", type=Path, help="stack outputs JSON instead of Terraform")
    parser.add_argument("--api-id", help="REST API id (default: the ingest_api_id output)")
    parser.add_argument("--stage", help="stage to serve (default: the ingest_stage_name output)")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--quiet", action="store_true", help="no access log lines")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(message)s",
        stream=sys.stdout,
    )
    api_id, stage = args.api_id, args.stage
    if api_id is None or stage is None:
        outputs = ingest_outputs.load("local", args.outputs)
        api_id, stage = api_id or outputs.api_id, stage or outputs.stage
    session = aws_session.session(cli.target(args))
    try:
        gateway = server.from_endpoint(session, api_id, stage)
    except UnsupportedApiError as error:
        raise cli.UserError(f"cannot emulate API {api_id}: {error}") from None
    try:
        http_server = server.serve(gateway, args.host, args.port)
    except OSError as error:
        raise cli.UserError(f"cannot listen on {args.host}:{args.port}: {error}") from None

    # SIGTERM (local_stack down) stops serving like Ctrl-C does.
    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=http_server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    routes = ", ".join(f"{m} {http_server.url}/{stage}{p}" for m, p in gateway.api.methods)
    print(f"{PROG}: API {gateway.api.name} ({api_id}) stage {stage}: {routes}", flush=True)
    with http_server:
        http_server.serve_forever()
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    return cli.run(PROG, main, argv)


if __name__ == "__main__":
    sys.exit(run())
