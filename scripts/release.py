"""`make release` / `make rollback`: ship a new handler to a canary share of batches, then promote.

    python -m scripts.release start [--canary 10] [--bake 300]   # build, upload, publish, bake
    python -m scripts.release start --zip path/to/other.zip     # release a zip built elsewhere
    python -m scripts.release rollback                          # 100 % back on the stable version
    python -m scripts.release status                            # what the alias routes now

The queue's mapping feeds the `live` alias. A release uploads the zip (conditional on the
function's RevisionId), publishes a version, routes `--canary` % of batches to it through the
alias' RoutingConfig, watches it for `--bake` seconds by the rule in
`scripts/harness/release/verdict.py`, then promotes it to 100 % or rolls back. Each step can be
rerun: an interrupted release resumes its bake; an upload already published is not repeated.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.config import Config

from scripts import package
from scripts.harness import cli
from scripts.harness.lambda_local import runtime
from scripts.harness.release import alias, verdict
from scripts.harness.stack import aws_session, outputs

PROG = "release"
# The control plane throttles (TooManyRequestsException): back off rather than fail midway.
CONTROL_PLANE = Config(retries={"mode": "adaptive", "max_attempts": 10})
IMPORT_CHECK_TIMEOUT_S = 60


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(PROG, __doc__)
    cli.add_profile(parser)
    cli.add_endpoint(parser)
    parser.add_argument("--outputs", type=Path, help="stack outputs JSON instead of Terraform")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="build, publish, canary, bake, promote or roll back")
    start.add_argument("--canary", type=_percent, default=10, help="%% of batches (default 10)")
    start.add_argument("--bake", type=cli.positive_int, default=300, help="seconds (default 300)")
    start.add_argument("--poll", type=cli.positive_int, default=10, help="seconds between looks")
    start.add_argument("--zip", type=Path, help="release this zip instead of `make package`'s")
    start.add_argument("--margin", type=_ratio, default=verdict.Rule.margin)
    start.add_argument(
        "--min-invocations", type=cli.positive_int, default=verdict.Rule.min_invocations
    )
    commands.add_parser("rollback", help="100 %% back on the stable (or previous) version now")
    commands.add_parser("status", help="what the alias routes and the release it records")
    return parser


def _percent(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 99:
        raise argparse.ArgumentTypeError(f"must be a whole percentage from 1 to 99: {text!r}")
    return int(text)


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a ratio from 0 to 1, e.g. 0.05: {text!r}")
    return value


class Release:
    """One function's alias, code and metrics, through the stack's outputs."""

    def __init__(self, session: aws_session.SessionLike, stack: outputs.StackOutputs) -> None:
        self.function = stack.function_name
        self.lam = session.client("lambda", config=CONTROL_PLANE)
        self.cloudwatch = session.client("cloudwatch", config=CONTROL_PLANE)
        self.watched = [
            stack.function_name,
            stack.table_name,
            stack.queue_url.rsplit("/", 1)[-1],
            stack.dlq_url.rsplit("/", 1)[-1],
        ]

    def alias(self) -> alias.AliasState:
        return alias.read(self.lam, self.function)

    def stats(self, version: str, since: datetime) -> verdict.VersionStats:
        return verdict.version_stats(
            self.cloudwatch,
            function_name=self.function,
            alias=alias.ALIAS,
            version=version,
            since=since,
            until=datetime.now(UTC),
        )

    def publish(self, zip_path: Path, sha: str) -> str:
        """The published version holding `zip_path`: an existing one, or upload and publish."""
        existing = alias.published_version(self.lam, self.function, sha)
        if existing is not None:
            print(f"{PROG}: version {existing} already holds this code; not uploading again")
            return existing
        configuration = self.lam.get_function_configuration(FunctionName=self.function)
        updated = self.lam.update_function_code(
            FunctionName=self.function,
            ZipFile=zip_path.read_bytes(),
            **_revision(configuration),
        )
        self.lam.get_waiter("function_updated_v2").wait(FunctionName=self.function)
        if updated["CodeSha256"] != sha:
            raise cli.UserError(f"the endpoint stored sha {updated['CodeSha256']}, not {sha}")
        published = self.lam.publish_version(
            FunctionName=self.function, CodeSha256=sha, **_revision(updated)
        )
        version = str(published["Version"])
        print(f"{PROG}: uploaded {zip_path.name} and published version {version}")
        return version


def _revision(configuration: dict[str, Any]) -> dict[str, str]:
    """Make the write conditional on the revision read (moto's functions carry none)."""
    revision = configuration.get("RevisionId")
    return {"RevisionId": revision} if revision else {}


def release_zip(args: argparse.Namespace) -> Path:
    if args.zip is not None:
        if not args.zip.is_file():
            raise cli.UserError(f"no such zip: {args.zip}")
        return args.zip
    if package.main(["--arch", "x86_64"]) != 0:
        raise cli.UserError("packaging failed (see above)")
    return package.DEFAULT_OUTPUT


def check_imports(zip_path: Path, handler: str, environment: dict[str, str]) -> None:
    """Import the handler from the zip before anything is published, in the local runtime's
    interpreter (CPython 3.12 with Lambda's boto3, `make runtime`): the runtime it will meet."""
    module, _, attribute = handler.rpartition(".")
    try:
        python = runtime.runtime_python()
    except runtime.RuntimeUnavailableError as err:
        raise cli.UserError(str(err)) from err
    code = (
        "import importlib, sys\n"
        f"module = importlib.import_module({module!r})\n"
        f"getattr(module, {attribute!r})\n"
    )
    with tempfile.TemporaryDirectory(prefix="release-") as code_dir:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(code_dir)
        result = subprocess.run(
            [
                str(python),
                "-I",
                "-c",
                f"import sys; sys.path.insert(0, {code_dir!r})\n" + code,
            ],
            env={"PATH": os.environ.get("PATH", ""), **environment},
            capture_output=True,
            text=True,
            timeout=IMPORT_CHECK_TIMEOUT_S,
            check=False,
        )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise cli.UserError(f"{zip_path.name} does not import {handler}: {last}; not publishing")


def start(release: Release, args: argparse.Namespace) -> int:
    state = release.alias()
    zip_path = release_zip(args)
    sha = package.sha256_base64(zip_path)
    package.keep_by_sha(zip_path)  # where the local runner looks for a version's code
    if state.in_flight:
        canary_sha = alias.code_sha(release.lam, release.function, state.canary or "")
        if canary_sha != sha:
            raise cli.UserError(
                f"a release is in progress ({state.describe()}): wait for it, rerun it with its "
                "own zip to resume, or `make rollback`"
            )
        print(f"{PROG}: resuming the release of version {state.canary} ({state.describe()})")
    else:
        stable_sha = alias.code_sha(release.lam, release.function, state.stable)
        if stable_sha == sha:
            raise cli.UserError(
                f"nothing to release: {alias.ALIAS} -> version {state.stable} already runs "
                f"this code (sha256 {sha})"
            )
        configuration = release.lam.get_function_configuration(FunctionName=release.function)
        check_imports(
            zip_path,
            configuration["Handler"],
            configuration.get("Environment", {}).get("Variables", {}),
        )
        version = release.publish(zip_path, sha)
        record = {"canary": version, "previous": state.stable, "started": int(time.time())}
        state = alias.write(
            release.lam,
            state,
            stable=state.stable,
            canary=version,
            weight=args.canary / 100,
            record=record,
        )
        print(f"{PROG}: canary: {state.describe()}")
    return bake(release, state, args)


def bake(release: Release, state: alias.AliasState, args: argparse.Namespace) -> int:
    canary = state.canary or ""
    started = float(state.record.get("started", time.time()))
    since = datetime.fromtimestamp(started, UTC)
    rule = verdict.Rule(margin=args.margin, min_invocations=args.min_invocations)
    tty = sys.stdout.isatty()
    try:
        while True:
            stable_stats = release.stats(state.stable, since)
            canary_stats = release.stats(canary, since)
            firing = verdict.alarms_firing(release.cloudwatch, release.watched)
            decision = verdict.judge(stable_stats, canary_stats, firing, rule)
            left = started + args.bake - time.time()
            line = (
                f"{PROG}: baking v{canary} at {100 * state.weight:.0f} % | "
                f"{stable_stats.describe()} | {canary_stats.describe()} | "
                f"{max(left, 0):.0f} s left"
            )
            print(("\r" + line) if tty else line, end="" if tty else "\n", flush=True)
            if decision.action == "rollback":
                print("\n" if tty else "", end="")
                return roll_back(release, state, decision.reason)
            if left <= 0:
                print("\n" if tty else "", end="")
                return promote(release, state, canary_stats)
            time.sleep(min(args.poll, max(left, 0.1)))
    except KeyboardInterrupt:
        print(
            f"\n{PROG}: interrupted; {state.describe()} stays as it is: rerun `make release` "
            "to resume the bake, or `make rollback`",
            file=sys.stderr,
        )
        raise


def promote(release: Release, state: alias.AliasState, canary: verdict.VersionStats) -> int:
    version = state.canary or ""
    state = alias.write(release.lam, state, stable=version, record={"previous": state.stable})
    evidence = "" if canary.invocations else " (it ran no batch during the bake: low traffic?)"
    print(f"{PROG}: promoted: {state.describe()}{evidence}")
    return 0


def roll_back(release: Release, state: alias.AliasState, reason: str) -> int:
    stable = state.stable
    record = {"previous": state.record.get("previous"), "rolled_back": state.canary}
    state = alias.write(release.lam, state, stable=stable, record=record)
    print(f"{PROG}: rolled back ({reason}): {state.describe()}")
    return 1


def rollback(release: Release) -> int:
    state = release.alias()
    if state.in_flight:
        print(f"{PROG}: stopping the canary of version {state.canary}")
        roll_back(release, state, "make rollback")
        return 0
    previous = state.record.get("previous")
    if not previous or previous == state.stable:
        raise cli.UserError(f"nothing to roll back to: {state.describe()}, no earlier release")
    state = alias.write(
        release.lam, state, stable=str(previous), record={"rolled_back": state.stable}
    )
    print(f"{PROG}: rolled back: {state.describe()}")
    return 0


def status(release: Release) -> int:
    state = release.alias()
    print(f"{PROG}: {release.function}: {state.describe()}")
    if state.record:
        print(f"{PROG}: release record {json.dumps(state.record, sort_keys=True)}")
    if state.in_flight:
        since = datetime.fromtimestamp(float(state.record.get("started", time.time())), UTC)
        for version in (state.stable, state.canary or ""):
            print(f"{PROG}: {release.stats(version, since).describe()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stack = outputs.load(args.profile, args.outputs)
    release = Release(aws_session.session(cli.target(args)), stack)
    try:
        if args.command == "start":
            print(f"{PROG}: {release.function} by {getpass.getuser()}@{socket.gethostname()}")
            return start(release, args)
        if args.command == "rollback":
            return rollback(release)
        return status(release)
    except alias.ReleaseConflict as err:
        raise cli.UserError(str(err)) from err


def run(argv: Sequence[str] | None = None) -> int:
    return cli.run(PROG, main, argv)


if __name__ == "__main__":
    sys.exit(run())
