"""Local event-source runner: does for the moto stack what Lambda's pollers do on AWS.

    python -m scripts.local_runner                       # foreground, Ctrl-C to stop
    python -m scripts.local_runner --status-file .local/runner.json

Everything comes from the endpoint: every event source mapping (ListEventSourceMappings) with
its batch size, window, FunctionResponseTypes, FilterCriteria and MaximumConcurrency; the
version(s) each one invokes (an alias's RoutingConfig weights included) with their handler,
environment, timeout and memory (GetFunction); the queue's visibility timeout. It refuses to
run code whose CodeSha256 no built zip under dist/ has, an enabled mapping (moto would consume
the source itself), and what it cannot emulate. `make local-up` starts it in the background;
see scripts/harness/lambda_local/ for the rules.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from scripts.harness import cli
from scripts.harness.lambda_local import (
    aliases,
    code_zip,
    emf,
    event_source,
    mappings,
    metrics,
    zip_environment,
)
from scripts.harness.lambda_local.config import FunctionConfig
from scripts.harness.stack import aws_session

PROG = "local_runner"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIST = REPO_ROOT / "dist"
DEFAULT_ZIP = DEFAULT_DIST / aliases.FALLBACK_ZIP
# Lambda starts an SQS mapping at 5 concurrent batches and may scale far beyond; a laptop
# caps the environments per mapping.
DEFAULT_LOCAL_CAP = 5
STATUS_INTERVAL_S = 1.0
ALIAS_REFRESH_S = 5.0
# Below `local_stack`'s 30 s SIGTERM-to-SIGKILL wait.
SHUTDOWN_GRACE_S = 20.0


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(PROG, __doc__)
    cli.add_endpoint(parser)
    parser.add_argument(
        "--dist", type=Path, default=DEFAULT_DIST, help="where the built zips are (dist/code/)"
    )
    parser.add_argument(
        "--max-concurrency",
        type=cli.positive_int,
        default=DEFAULT_LOCAL_CAP,
        help=f"local cap on concurrent batches per mapping (default {DEFAULT_LOCAL_CAP}); the "
        "mapping's MaximumConcurrency and the function's reserved concurrency still apply",
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


def discover(session: aws_session.SessionLike) -> list[mappings.Plan]:
    """Every mapping on the endpoint and what it invokes; one-line refusals (mappings.py)."""
    return mappings.discover(session.client("lambda"), session.client("ssm"))


class Runner:
    """The event sources of every mapping, their code, shared stats and metrics, a clean stop."""

    def __init__(
        self,
        session: aws_session.SessionLike,
        plans: Sequence[mappings.Plan],
        dist_dir: Path,
        *,
        local_cap: int | None,
        wait_s: int,
        environment: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """`environment` overrides variables of every function (chaos routes the function's
        AWS calls through its fault proxy this way)."""
        self.plans = list(plans)
        self.stats = event_source.Stats()
        self.stop = threading.Event()
        self.started_at = datetime.now(UTC)
        self.metrics = metrics.LambdaMetrics()
        self.emf = emf.EmfMetrics()
        self._cloudwatch = session.client("cloudwatch")
        self._overrides = dict(environment or {})
        self._code_root = Path(tempfile.mkdtemp(prefix="local-runner-code-"))
        self._dist_dir = dist_dir
        self._code_dirs: dict[str, Path] = {}
        self._lambda = session.client("lambda")
        self._refused: dict[str, list[tuple[str, str]]] = {}
        self._next_refresh = time.monotonic() + ALIAS_REFRESH_S
        try:
            for plan in self.plans:
                self._extract_code(plan.target)
            self.sources = [
                mappings.SOURCES[plan.mapping.source_type](
                    event_source.PollerContext(
                        mapping=plan.mapping,
                        target=plan.target,
                        session=session,
                        new_environment=self._new_environment,
                        stats=self.stats,
                        stop=self.stop,
                        local_cap=local_cap,
                        wait_s=wait_s,
                        metrics=self.metrics,
                        emf=self.emf,
                        rng=rng or random.Random(),
                    )
                )
                for plan in self.plans
            ]
        except BaseException:
            shutil.rmtree(self._code_root, ignore_errors=True)
            raise

    def _extract_code(self, target: aliases.Target) -> None:
        """One extracted directory per distinct CodeSha256; refuses code without a built zip."""
        for function in target.versions:
            if function.code_sha256 in self._code_dirs:
                continue
            source = aliases.code_zip(function, self._dist_dir)
            directory = self._code_root / str(len(self._code_dirs))
            try:
                code_zip.extract(source, directory)
            except code_zip.ZipLayoutError as err:
                raise cli.UserError(str(err)) from err
            self._code_dirs[function.code_sha256] = directory

    def refresh_targets(self) -> None:
        """Read again what each alias routes: Lambda resolves an alias on every invoke, and a
        release (`make release`) moves it while the runner runs."""
        for plan, source in zip(self.plans, self.sources, strict=True):
            _, qualifier = aliases.split_arn(plan.mapping.function_arn)
            if qualifier is None or qualifier == aliases.LATEST or qualifier.isdigit():
                continue
            current = source.context.target
            try:
                target = aliases.resolve(self._lambda, plan.mapping.function_arn)
            except ClientError as err:
                print(f"{PROG}: cannot read {plan.mapping.function_arn}: {err}", file=sys.stderr)
                continue
            shas = [(f.version, f.code_sha256) for f in target.versions]
            if target.routing() == current.routing() and shas == [
                (f.version, f.code_sha256) for f in current.versions
            ]:
                continue
            try:
                self._extract_code(target)
            except cli.UserError as err:
                if self._refused.get(target.resource) != shas:
                    print(f"{PROG}: {err}; {target.resource} stays on {current.routing()}",
                          file=sys.stderr, flush=True)  # fmt: skip
                    self._refused[target.resource] = shas
                continue
            source.context.target = target
            print(f"{PROG}: {target.resource} now routes {target.routing()}", flush=True)

    def _new_environment(self, function: FunctionConfig) -> event_source.ExecutionEnvironment:
        if self._overrides:
            function = dataclasses.replace(
                function, environment={**function.environment, **self._overrides}
            )
        spec = zip_environment.function_spec(function, self._code_dirs[function.code_sha256])
        return zip_environment.ZipEnvironment(spec)

    def start(self) -> None:
        for source in self.sources:
            source.start()

    def tick(self) -> None:
        """Periodic work of the main loop: send the aggregated Lambda metrics and the functions'
        own (EMF) metrics (a failure to send them is reported, not fatal: the pollers keep
        working) and follow aliases."""
        for source in (self.metrics, self.emf):
            try:
                source.flush(self._cloudwatch)
            except (BotoCoreError, ClientError) as err:
                self.stats.add(metric_errors=1)
                print(f"{PROG}: metrics not sent: {err}", file=sys.stderr, flush=True)
        if time.monotonic() >= self._next_refresh:
            self._next_refresh = time.monotonic() + ALIAS_REFRESH_S
            self.refresh_targets()

    def shutdown(self) -> None:
        """Stop polling; let running invocations finish, then end every worker process.

        Waits up to the longest function timeout (at most SHUTDOWN_GRACE_S, so `local-down`
        never has to kill the runner and orphan its workers). A poller blocked in a 20 s long
        poll is not waited for: what it still receives stays invisible for the visibility
        timeout and is delivered again, as on AWS.
        """
        self.stop.set()
        timeouts = [f.timeout_s for p in self.plans for f in p.target.versions]
        deadline = time.monotonic() + min(max(timeouts, default=0) + 1, SHUTDOWN_GRACE_S)
        while any(source.busy() for source in self.sources) and time.monotonic() < deadline:
            time.sleep(0.05)
        for source in self.sources:
            source.close()
        self.tick()
        shutil.rmtree(self._code_root, ignore_errors=True)

    def status(self, state: str) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "state": state,
            "started_at": self.started_at.isoformat(),
            "updated_at": datetime.now(UTC).isoformat(),
            "mappings": [source.status() for source in self.sources],
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
    session = aws_session.session(cli.target(args))
    runner = Runner(
        session,
        discover(session),
        args.dist,
        local_cap=args.max_concurrency,
        wait_s=args.wait_seconds,
    )

    def request_stop(signum: int, frame: FrameType | None) -> None:
        runner.stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        runner.start()
        for source in runner.status("starting")["mappings"]:
            print(
                f"{PROG}: {source['function']} {source['versions']} on {source['source']}: "
                f"batch {source['batch_size']}, window {source['batching_window_s']} s, "
                f"{source['filters']} filter(s), up to {source['maximum_concurrency']} "
                f"concurrent batch(es)",
                flush=True,
            )
        write_status(args.status_file, runner.status("running"))
        while not runner.stop.wait(STATUS_INTERVAL_S):
            runner.tick()
            write_status(args.status_file, runner.status("running"))
    finally:
        runner.shutdown()
    write_status(args.status_file, runner.status("stopped"))
    print(f"{PROG}: stopped; {json.dumps(runner.stats.snapshot(), sort_keys=True)}")
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    return cli.run(PROG, main, argv)


if __name__ == "__main__":
    sys.exit(run())
