"""Run a test event against the built zip in a Lambda-like process; print its logs and response.

The event is a JSON file (an SQS event such as events/tutorial-legacy.json), or is built from
plain message bodies (--body, repeatable, or --bodies FILE with one body per line). The zip is
extracted to a temporary directory and run by scripts/harness/lambda_local/runtime.py (AWS's
Runtime Interface Emulator and awslambdaric on Python 3.12, in Lambda's sandbox: memory limit,
read-only task root, private /tmp) with the function environment: defaults
for the local stores, then .local/stores.env (written by `make stores-up`) or --env-file, then
--env KEY=VALUE. Logs go to stderr and the response to stdout; a function error or timeout exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from scripts.harness import cli
from scripts.harness.lambda_local import code_zip
from scripts.harness.lambda_local import logs as lambda_logs
from scripts.harness.lambda_local.runtime import (
    FunctionSpec,
    InvocationResult,
    LambdaProcess,
    RuntimeUnavailableError,
    runtime_version,
)
from scripts.harness.messages import sqs_bodies
from scripts.harness.stack import local_stores, processes

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ZIP = REPO_ROOT / "dist" / "registration.zip"
DEFAULT_ENV_FILE = REPO_ROOT / ".local" / "stores.env"
DEFAULT_HANDLER = "registration.app.lambda_handler"


def default_environment() -> dict[str, str]:
    """What `make stores-up` provisions, for when .local/stores.env is absent.

    Secrets Manager accepts a secret's name wherever it takes an ARN, so the name stands in for
    the ARN (whose random suffix is only known once the secret exists).
    """
    names = local_stores.StoreNames()
    endpoint = "http://127.0.0.1:4566"
    return local_stores.ProvisionedStores(
        endpoint_url=endpoint,
        table_name=names.table_name,
        dlq_url=f"{endpoint}/123456789012/{names.dlq_name}",
        secret_arn=names.secret_name,
        database=local_stores.DatabaseEndpoint(
            host="127.0.0.1", port=3307, name=names.database, username="", password=""
        ),
    ).function_environment()


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser("invoke", __doc__)
    parser.add_argument("event", nargs="?", type=Path, help="event JSON file")
    parser.add_argument("--body", action="append", default=[], help="a message body (repeatable)")
    parser.add_argument("--bodies", type=Path, help="file with one message body per line")
    parser.add_argument("--queue-arn", default=sqs_bodies.DEFAULT_QUEUE_ARN)
    parser.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    parser.add_argument("--handler", default=DEFAULT_HANDLER)
    parser.add_argument("--function-name", default="registration")
    parser.add_argument("--timeout", type=int, default=30, help="whole seconds, as Lambda's (30)")
    parser.add_argument("--memory", type=int, default=256, help="MB (default 256)")
    parser.add_argument(
        "--log-format", choices=["Text", "JSON"], default="Text", help="LoggingConfig.LogFormat"
    )
    parser.add_argument("--log-level", help="LoggingConfig.ApplicationLogLevel (JSON only)")
    parser.add_argument("--env-file", type=Path, help=f"default: {DEFAULT_ENV_FILE} if present")
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="repeatable"
    )
    return parser


def load_event(args: argparse.Namespace) -> dict[str, Any]:
    sources = sum([args.event is not None, bool(args.body), args.bodies is not None])
    if sources != 1:
        raise cli.UserError("give exactly one of: an EVENT file, --body (repeatable), --bodies")
    if args.event is not None:
        try:
            event = json.loads(args.event.read_text())
        except (OSError, ValueError) as error:
            raise cli.UserError(f"cannot read event {args.event}: {error}") from error
        if not isinstance(event, dict):
            raise cli.UserError(f"{args.event}: an event must be a JSON object")
        return event
    bodies: list[str] = args.body
    if args.bodies is not None:
        try:
            bodies = [line for line in args.bodies.read_text().splitlines() if line.strip()]
        except OSError as error:
            raise cli.UserError(f"cannot read bodies {args.bodies}: {error}") from error
        if not bodies:
            raise cli.UserError(f"{args.bodies} has no message bodies")
    return sqs_bodies.event_from_bodies(bodies, args.queue_arn)


def function_environment(args: argparse.Namespace) -> dict[str, str]:
    environment = default_environment()
    env_file = args.env_file or (DEFAULT_ENV_FILE if DEFAULT_ENV_FILE.is_file() else None)
    if env_file is not None:
        try:
            environment.update(local_stores.read_env_file(env_file))
        except (OSError, ValueError) as error:
            raise cli.UserError(f"cannot read env file {env_file}: {error}") from error
    for assignment in args.env:
        key, separator, value = assignment.partition("=")
        if not separator or not key:
            raise cli.UserError(f"--env expects KEY=VALUE, got {assignment!r}")
        environment[key] = value
    return environment


def stores_hint(environment: dict[str, str]) -> str:
    """A pointer to `make stores-up` when the local stores the function uses are not running."""
    endpoints = [(environment.get("DB_HOST", ""), environment.get("DB_PORT", ""))]
    endpoint_url = urlparse(environment.get("AWS_ENDPOINT_URL", ""))
    if endpoint_url.hostname:
        endpoints.append((endpoint_url.hostname, str(endpoint_url.port or 80)))
    for host, port in endpoints:
        local = host in {"127.0.0.1", "localhost"}
        if local and port.isdigit() and not processes.port_open(host, int(port)):
            return f" (nothing listens on {host}:{port}: run `make stores-up`)"
    return ""


def report(result: InvocationResult, spec: FunctionSpec) -> str:
    """The invocation's log stream as Lambda writes it in the function's log format."""
    error_type = result.error.get("errorType") if result.error else None
    status = "timeout" if result.timed_out else "error" if result.error else "success"
    init = None
    if result.init_duration_ms is not None:
        init = lambda_logs.Init(spec.function_name, spec.version, runtime_version())
    lines = lambda_logs.invocation_lines(
        spec.log_format,
        lambda_logs.Report(
            request_id=result.request_id,
            duration_ms=result.duration_ms,
            memory_size_mb=spec.memory_mb,
            max_memory_used_mb=result.max_memory_used_mb,
            init_duration_ms=result.init_duration_ms,
            status=status,
            error_type=None if result.timed_out else error_type,
        ),
        result.log_lines,
        version=spec.version,
        init=init,
        init_lines=result.init_log_lines,
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.timeout <= 0 or args.memory <= 0:
        raise cli.UserError("--timeout and --memory must be positive")
    event = load_event(args)
    environment = function_environment(args)
    with tempfile.TemporaryDirectory(prefix="invoke-") as scratch:
        try:
            code_dir = code_zip.extract(args.zip, Path(scratch) / "task")
        except code_zip.ZipLayoutError as error:
            raise cli.UserError(str(error)) from error
        if not code_zip.handler_module_present(code_dir, args.handler):
            raise cli.UserError(f"{args.zip} has no module for handler {args.handler}")
        spec = FunctionSpec(
            code_dir=code_dir,
            handler=args.handler,
            function_name=args.function_name,
            memory_mb=args.memory,
            timeout_s=args.timeout,
            environment=environment,
            log_format=args.log_format,
            application_log_level=args.log_level,
        )
        try:
            with LambdaProcess(spec) as process:
                result = process.invoke(event)
        except RuntimeUnavailableError as error:
            raise cli.UserError(str(error)) from error
    print(report(result, spec), file=sys.stderr)
    if result.failed:
        assert result.error is not None
        print(json.dumps(result.error, indent=2))
        first_line = (str(result.error.get("errorMessage", "")).strip().splitlines() or [""])[0]
        print(
            f"invoke: function error: {result.error.get('errorType')}: {first_line}"
            f"{stores_hint(environment)}",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(result.response, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(cli.run("invoke", main, None))
