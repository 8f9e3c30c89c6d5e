"""Local event-source runner: does for the moto stack what Lambda's SQS poller does on AWS.

    python -m scripts.local_runner                       # foreground, Ctrl-C to stop
    python -m scripts.local_runner --status-file .local/runner.json

Everything comes from the endpoint: the function's handler, environment, timeout and memory
(GetFunction), the mapping's batch size, batching window, FunctionResponseTypes and
MaximumConcurrency (ListEventSourceMappings), the queue's visibility timeout. It refuses to run
unless the deployed CodeSha256 is dist/registration.zip's. `make local-up` starts it in the
background; see scripts/harness/lambda_local/event_source.py for the polling rules.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from scripts.harness import cli
from scripts.harness.lambda_local import code_zip, config, event_source, zip_environment
from scripts.harness.lambda_local import logs as lambda_logs
from scripts.harness.stack import aws_session, outputs

PROG = "local_runner"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ZIP = REPO_ROOT / "dist" / "registration.zip"
# Lambda scales an SQS mapping to hundreds of environments; a laptop gets a few processes.
DEFAULT_LOCAL_CAP = 4
STATUS_INTERVAL_S = 1.0
# Below `local_stack`'s 30 s SIGTERM-to-SIGKILL wait.
SHUTDOWN_GRACE_S = 20.0


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(PROG, __doc__)
    cli.add_endpoint(parser)
    parser.add_argument("--outputs", type=Path, help="stack outputs JSON instead of Terraform")
    parser.add_argument("--zip", type=Path, default=DEFAULT_ZIP, help="the built package")
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=DEFAULT_LOCAL_CAP,
        help=f"local cap on execution environments (default {DEFAULT_LOCAL_CAP}); the "
        "mapping's MaximumConcurrency still applies",
    )
    parser.add_argument(
        "--wait-seconds",
        type=int,
        default=event_source.LAMBDA_LONG_POLL_S,
        choices=range(21),
        metavar="0-20",
        help="ReceiveMessage WaitTimeSeconds (Lambda uses 20)",
    )
    parser.add_argument("--status-file", type=Path, help="JSON status, rewritten every second")
    return parser


@dataclass(frozen=True)
class Deployment:
    """What the runner read back from the endpoint."""

    function: config.FunctionConfig
    mapping: config.MappingConfig
    queue: event_source.QueueSettings
    log_group: str


def read_deployment(
    session: aws_session.SessionLike, stack: outputs.StackOutputs, zip_path: Path
) -> Deployment:
    """Read function, mapping and queue; refuse a disagreeing zip or an enabled mapping."""
    lambda_client = session.client("lambda")
    function = config.read_function(lambda_client, stack.function_name)
    mapping = config.read_mapping(
        lambda_client, stack.function_name, stack.queue_arn, stack.event_source_mapping_uuid
    )
    config.check_code(function, zip_path)
    if mapping.state.lower() in ("enabled", "enabling"):
        raise cli.UserError(
            f"event source mapping {mapping.uuid} is enabled: moto would consume the queue "
            "itself (and dead-letter everything); the local profile must deploy it disabled"
        )
    queue = event_source.read_queue(session.client("sqs"), stack.queue_url)
    return Deployment(function, mapping, queue, stack.log_group_name)


class Runner:
    """The pollers of one function, their shared stats and a clean stop."""

    def __init__(
        self,
        session: aws_session.SessionLike,
        deployment: Deployment,
        code_dir: Path,
        concurrency: int,
        wait_s: int,
    ) -> None:
        self.deployment = deployment
        self.concurrency = concurrency
        self.stats = event_source.Stats()
        self.stop = threading.Event()
        self.started_at = datetime.now(UTC)
        spec = zip_environment.function_spec(deployment.function, code_dir)
        logs = session.client("logs")
        self._pollers = [
            event_source.Poller(
                sqs=session.client("sqs"),
                queue=deployment.queue,
                mapping=deployment.mapping,
                function=deployment.function,
                new_environment=lambda: zip_environment.ZipEnvironment(spec),
                new_log_stream=lambda: lambda_logs.LogStream(
                    logs, deployment.log_group, lambda_logs.stream_name(datetime.now(UTC))
                ),
                stats=self.stats,
                stop=self.stop,
                wait_s=wait_s,
            )
            for _ in range(concurrency)
        ]

    def start(self) -> None:
        for index, poller in enumerate(self._pollers):
            threading.Thread(target=poller.run, name=f"poller-{index}", daemon=True).start()

    def shutdown(self) -> None:
        """Stop polling; let running invocations finish, then end every worker process.

        Waits up to the function timeout (at most SHUTDOWN_GRACE_S, so `local-down` never has to
        kill the runner and orphan its workers). A poller blocked in a 20 s long poll is not
        waited for: what it still receives stays invisible for the visibility timeout and is
        delivered again, as on AWS.
        """
        self.stop.set()
        grace = min(self.deployment.function.timeout_s + 1, SHUTDOWN_GRACE_S)
        deadline = time.monotonic() + grace
        for poller in self._pollers:
            while poller.busy.is_set() and time.monotonic() < deadline:
                time.sleep(0.05)
        for poller in self._pollers:
            poller.close()

    def status(self, state: str) -> dict[str, Any]:
        d = self.deployment
        return {
            "pid": os.getpid(),
            "state": state,
            "started_at": self.started_at.isoformat(),
            "updated_at": datetime.now(UTC).isoformat(),
            "function": d.function.name,
            "handler": d.function.handler,
            "timeout_s": d.function.timeout_s,
            "memory_mb": d.function.memory_mb,
            "queue_url": d.queue.url,
            "visibility_timeout_s": d.queue.visibility_timeout_s,
            "batch_size": d.mapping.batch_size,
            "batching_window_s": d.mapping.batching_window_s,
            "function_response_types": list(d.mapping.response_types),
            "concurrency": self.concurrency,
            "stats": self.stats.snapshot(),
        }


def write_status(path: Path | None, status: dict[str, Any]) -> None:
    """Atomically replace the status file (readers never see half a JSON document)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(status, indent=2) + "\n")
    temporary.replace(path)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.max_concurrency < 1:
        raise cli.UserError("--max-concurrency must be at least 1")
    stack = outputs.load("local", args.outputs)
    session = aws_session.session(cli.target(args))
    deployment = read_deployment(session, stack, args.zip)
    concurrency = event_source.concurrency(
        deployment.mapping, deployment.function, args.max_concurrency
    )
    code_dir = Path(tempfile.mkdtemp(prefix="registration-code-"))
    try:
        try:
            code_zip.extract(args.zip, code_dir)
        except code_zip.ZipLayoutError as err:
            raise cli.UserError(str(err)) from err
        runner = Runner(session, deployment, code_dir, concurrency, args.wait_seconds)

        def request_stop(signum: int, frame: FrameType | None) -> None:
            runner.stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        runner.start()
        m, f = deployment.mapping, deployment.function
        print(
            f"{PROG}: {f.name} ({f.handler}, {f.timeout_s} s, {f.memory_mb} MB) on "
            f"{deployment.queue.url}: batch {m.batch_size}, window {m.batching_window_s} s, "
            f"{concurrency} environment(s), visibility {deployment.queue.visibility_timeout_s} s",
            flush=True,
        )
        write_status(args.status_file, runner.status("running"))
        while not runner.stop.wait(STATUS_INTERVAL_S):
            write_status(args.status_file, runner.status("running"))
        runner.shutdown()
        write_status(args.status_file, runner.status("stopped"))
        print(f"{PROG}: stopped; {json.dumps(runner.stats.snapshot(), sort_keys=True)}")
    finally:
        shutil.rmtree(code_dir, ignore_errors=True)
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    return cli.run(PROG, main, argv)


if __name__ == "__main__":
    sys.exit(run())
