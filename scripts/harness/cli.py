"""Shared command-line plumbing: profile arguments and one-line errors instead of tracebacks.

Every command in this project is run by people at a terminal; an expected failure (bad argument,
endpoint down, stack not deployed, no credentials) must read as one sentence that says what to
do, while a real bug still shows its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from scripts.harness.stack import aws_session


class UserError(Exception):
    """An expected failure with a message meant for the person at the terminal."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (prog: error) and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def positive_int(text: str) -> int:
    """argparse ``type=`` for counts: digits only, at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer: {text!r}")
    return int(text)


def parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """An argument parser whose description is the first line of the module docstring."""
    description = (doc or "").strip().splitlines()[0] if doc else None
    return _Parser(prog=prog, description=description)


def add_profile(arg_parser: argparse.ArgumentParser) -> None:
    """--profile local|aws: which endpoint and credentials (see aws_session)."""
    arg_parser.add_argument(
        "--profile",
        default="local",
        choices=aws_session.PROFILES,
        help="local: moto at AWS_ENDPOINT_URL/LOCALSTACK_HOST (default 127.0.0.1:4566); "
        "aws: the standard AWS credential chain",
    )


def run(prog: str, main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None) -> int:
    """Run `main`, turning expected failures into `prog: message` on stderr and exit code 1."""
    try:
        return main(argv)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `... | head`: the reader left; say nothing more (and not at interpreter exit either).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (UserError, aws_session.UnknownProfileError, aws_session.EndpointConflictError) as err:
        print(f"{prog}: {err}", file=sys.stderr)
    except NoCredentialsError:
        print(f"{prog}: no AWS credentials (aws profile): configure them first", file=sys.stderr)
    except NoRegionError:
        print(f"{prog}: no AWS region: set AWS_REGION", file=sys.stderr)
    except ClientError as err:
        error = err.response.get("Error", {})
        print(
            f"{prog}: {err.operation_name} failed: {error.get('Code')}: {error.get('Message')}",
            file=sys.stderr,
        )
    except BotoCoreError as err:
        print(f"{prog}: {err} (is the endpoint up? `make local-up`)", file=sys.stderr)
    return 1


def add_endpoint(arg_parser: argparse.ArgumentParser) -> None:
    """--endpoint-url: the emulator endpoint, for the local profile only."""
    arg_parser.add_argument(
        "--endpoint-url",
        help="local profile: the moto endpoint (default: AWS_ENDPOINT_URL, else "
        "LOCALSTACK_HOST, else http://127.0.0.1:4566)",
    )


def target(args: argparse.Namespace) -> aws_session.Target:
    """The Target chosen by --profile (default local) and --endpoint-url."""
    profile = getattr(args, "profile", "local")
    endpoint = getattr(args, "endpoint_url", None)
    if endpoint is None:
        return aws_session.resolve(profile)
    if profile != "local":
        raise UserError("--endpoint-url only applies to the local profile")
    return aws_session.local_target(endpoint.rstrip("/"), aws_session.resolve("local").region)
