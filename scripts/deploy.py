"""Deploy, inspect or remove the stack of one profile with Terraform (python-terraform).

    python -m scripts.deploy apply    --profile local|aws [--auto-approve]
    python -m scripts.deploy plan     --profile local|aws
    python -m scripts.deploy destroy  --profile local|aws [--auto-approve]
    python -m scripts.deploy outputs  --profile local|aws      # JSON on stdout

`local` applies envs/local.tfvars against the moto server (AWS_ENDPOINT_URL, else LOCALSTACK_HOST,
else http://127.0.0.1:4566) with fake credentials; `aws` applies envs/aws.tfvars with the standard
AWS credential chain. Each profile keeps its own state (see scripts/harness/stack/terraform.py).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from scripts.harness import cli
from scripts.harness.stack import terraform as tf

COMMANDS = ("apply", "plan", "destroy", "outputs")
# Root variable -> the zip `make package` builds when the variable is unset.
FUNCTION_ZIPS = {"function_zip_path": "registration.zip", "bootstrap_zip_path": "bootstrap.zip"}


def _missing_zips(ws: tf.Workspace) -> list[Path]:
    paths = [
        Path(ws.variables[variable]) if ws.variables.get(variable) else ws.root / "dist" / name
        for variable, name in FUNCTION_ZIPS.items()
    ]
    return [path for path in paths if not path.is_file()]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run one command; returns the exit code."""
    parser = cli.parser("deploy", __doc__)
    parser.add_argument("command", choices=COMMANDS, help="what to do with the stack")
    cli.add_profile(parser)
    parser.add_argument(
        "--auto-approve",
        action="store_true",
        help="apply/destroy without asking for confirmation",
    )
    args = parser.parse_args(argv)
    if args.auto_approve and args.command not in ("apply", "destroy"):
        parser.error("--auto-approve only applies to apply and destroy")

    ws = tf.workspace(args.profile)

    if args.command == "outputs":
        values = tf.output(ws)
        if not values:
            raise cli.UserError(
                f"no outputs in {ws.state_path}: apply first "
                f"(python -m scripts.deploy apply --profile {args.profile})"
            )
        print(json.dumps({name: item.get("value") for name, item in values.items()}, indent=2))
        return 0

    missing = _missing_zips(ws) if args.command in ("apply", "plan") else []
    if missing:
        names = ", ".join(str(path) for path in missing)
        raise cli.UserError(f"{names} missing: build them first (make package)")

    print(f"deploy: {args.command} {ws.describe()}", file=sys.stderr, flush=True)
    started = time.monotonic()
    tf.init(ws)
    if args.command == "plan":
        changes = tf.plan(ws, stream=True)
        print(f"deploy: plan {'has changes' if changes else 'shows no changes'}", file=sys.stderr)
    elif args.command == "apply":
        tf.apply(ws, auto_approve=args.auto_approve)
    else:
        tf.destroy(ws, auto_approve=args.auto_approve)
    elapsed = time.monotonic() - started
    print(f"deploy: {args.command} done in {elapsed:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run("deploy", main, sys.argv[1:]))
