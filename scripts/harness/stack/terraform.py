"""Terraform for one profile (local | aws) through python-terraform, with its quirks worked around.

A *workspace* is the repository's root configuration bound to one profile: its var file
(`envs/<profile>.tfvars`), its own data directory (`TF_DATA_DIR`, so profiles never share
providers or backend settings) and its own state file (the root's `backend "local" {}` gets
`-backend-config=path=…`):

| profile | state | TF_DATA_DIR |
| --- | --- | --- |
| local | `.local/terraform/local.tfstate` | `.local/terraform/data` |
| aws | `terraform.tfstate.d/aws/terraform.tfstate` | `.terraform/profiles/aws` |

The local state lives in `.local/` because it describes moto's memory: `make clean` drops both.
The aws state is kept outside `.local/` so that `make clean` can never forget a real stack.

The local profile talks to moto: the endpoint (`AWS_ENDPOINT_URL`, else `LOCALSTACK_HOST`, else
127.0.0.1:4566, resolved like every other command through `aws_session`) goes to Terraform as
the root variable `aws_endpoint_url`, which routes every AWS service of the stack to it; fake
credentials `test`/`test` and region us-east-1 are set only in the child's environment. No file
is written into the configuration (unlike tflocal's provider override), so concurrent runs in
one checkout cannot leak the emulator endpoint into each other.

python-terraform 0.10.1 predates Terraform 1.x; what this module works around:
- `destroy()` always adds `-force` (removed in Terraform 0.15): `force=IsNotFlagged`.
- `apply()`, `plan()`, `destroy()` add `-input=false`, which makes Terraform refuse to ask for
  approval: interactive runs pass `input=True`.
- `init()` adds every default option (`-var-file`, `-state`, …) to init: `cmd("init", …)` is
  called directly with only init's own flags.
- `output()` swallows errors and returns None: `cmd("output", json=…)` is used instead.
- the only way to give the child an environment is `os.environ` (it copies it on every call):
  calls run inside a context that patches and restores it.
- `cmd()` pops `synchronous` only after building argv (it would become a flag): never passed.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged, IsNotFlagged, Terraform

from scripts.harness.cli import UserError
from scripts.harness.stack import aws_session
from scripts.harness.stack import toolchain as tc

REPO_ROOT = tc.REPO_ROOT
PROFILES = aws_session.PROFILES
LOCAL_CREDENTIALS_ENV = {
    "AWS_ACCESS_KEY_ID": aws_session.LOCAL_CREDENTIALS[0],
    "AWS_SECRET_ACCESS_KEY": aws_session.LOCAL_CREDENTIALS[1],
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Real credentials must not reach the emulator, nor an emulator endpoint reach real AWS.
_LOCAL_UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
_ENDPOINT_PREFIX = "AWS_ENDPOINT_URL"

_ENV_LOCK = threading.Lock()


class TerraformError(UserError):
    """A Terraform command failed; the message names the command and the reason."""

    def __init__(self, command: str, returncode: int, detail: str) -> None:
        self.command = command
        self.returncode = returncode
        self.detail = detail
        summary = _first_error(detail) or "see the output above"
        super().__init__(f"terraform {command} failed (exit {returncode}): {summary}")


@dataclass(frozen=True)
class Workspace:
    """The root configuration bound to one profile: var files, state, data dir, environment."""

    profile: str
    root: Path
    var_files: tuple[Path, ...]
    state_path: Path
    data_dir: Path
    variables: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str | None] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for the person at the terminal."""
        endpoint = self.variables.get("aws_endpoint_url") or "AWS"
        return f"profile {self.profile} ({endpoint}), state {self.state_path}"


def workspace(
    profile: str,
    *,
    root: Path = REPO_ROOT,
    endpoint_url: str | None = None,
    state_dir: Path | None = None,
    variables: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Workspace:
    """Bind `root` to `profile`.

    `endpoint_url` (local only) overrides the resolved moto endpoint; `state_dir` moves state and
    data dir (tests); `variables` are extra `-var`s, applied after the profile's var file.
    """
    environ = dict(os.environ if environ is None else environ)
    if profile not in PROFILES:
        raise UserError(f"unknown profile {profile!r}: use one of {', '.join(PROFILES)}")
    var_file = root / "envs" / f"{profile}.tfvars"
    if not var_file.is_file():
        raise UserError(f"profile file {var_file} is missing")
    extra: dict[str, Any] = {}
    env: dict[str, str | None] = {}

    if profile == "local":
        target = aws_session.resolve("local", environ)
        endpoint = (endpoint_url or target.endpoint_url or "").rstrip("/")
        extra["aws_endpoint_url"] = endpoint
        env.update(LOCAL_CREDENTIALS_ENV)
        env.update({"AWS_REGION": target.region, "AWS_DEFAULT_REGION": target.region})
        env.update(dict.fromkeys(_LOCAL_UNSET))
        # Belt and braces: a service missing from the provider's endpoints block still lands here.
        env[_ENDPOINT_PREFIX] = endpoint
        state = (state_dir or root / ".local" / "terraform") / "local.tfstate"
        data_dir = (state_dir or root / ".local" / "terraform") / "data"
    else:
        if endpoint_url is not None:
            raise UserError("an endpoint URL only makes sense for the local profile")
        overriding = sorted(k for k in environ if k.startswith(_ENDPOINT_PREFIX))
        if overriding:
            raise UserError(
                f"{', '.join(overriding)} is set: the aws profile deploys to real AWS, unset it"
            )
        state = (state_dir or root / "terraform.tfstate.d" / "aws") / "terraform.tfstate"
        data_dir = state_dir / "data" if state_dir else root / ".terraform" / "profiles" / "aws"

    extra.update(variables or {})
    return Workspace(
        profile=profile,
        root=root,
        var_files=(var_file,),
        state_path=state,
        data_dir=data_dir,
        variables=extra,
        env=env,
    )


@contextlib.contextmanager
def _environment(ws: Workspace) -> Iterator[None]:
    """Patch os.environ for one python-terraform call (it copies os.environ into the child)."""
    changes: dict[str, str | None] = {
        **tc.terraform_env(),
        "TF_DATA_DIR": str(ws.data_dir),
        **ws.env,
    }
    with _ENV_LOCK:
        saved = {key: os.environ.get(key) for key in changes}
        try:
            for key, value in changes.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _terraform(ws: Workspace) -> Terraform:
    try:
        binary = tc.terraform_bin()
    except tc.ToolchainError as err:
        raise UserError(str(err)) from err
    # Defaults given to the constructor only feed plan()/apply()/destroy(), which are not used.
    return Terraform(working_dir=str(ws.root), terraform_bin_path=str(binary))


def _run(
    ws: Workspace,
    command: str,
    *args: str,
    stream: bool = False,
    ok_codes: tuple[int, ...] = (0,),
    **options: Any,
) -> tuple[int, str, str]:
    """Run one Terraform command without python-terraform's default options.

    `stream` sends the child's output to this terminal instead of capturing it.
    """
    tf = _terraform(ws)
    with _environment(ws), warnings.catch_warnings():
        # python-terraform logs failures through the deprecated Logger.warn.
        warnings.filterwarnings("ignore", "The 'warn' method is deprecated", DeprecationWarning)
        code, out, err = tf.cmd(command, *args, capture_output=not stream, **options)
    if code not in ok_codes:
        raise TerraformError(command, code, err or out or "")
    return code, out or "", err or ""


def _default_options(ws: Workspace, **options: Any) -> dict[str, Any]:
    """The options python-terraform's plan/apply/destroy would add, made explicit."""
    return {
        "var_file": [str(path) for path in ws.var_files],
        "var": dict(ws.variables),
        "no_color": IsFlagged,
        **options,
    }


def initialized(ws: Workspace) -> bool:
    """True when the data dir holds this workspace's backend settings and providers."""
    backend = ws.data_dir / "terraform.tfstate"
    if not backend.is_file() or not (ws.data_dir / "providers").is_dir():
        return False
    try:
        config = json.loads(backend.read_text())["backend"]["config"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return Path(config.get("path") or "") == ws.state_path


def init(ws: Workspace, *, stream: bool = False) -> None:
    """`terraform init` with this workspace's state path (idempotent, quick once cached)."""
    ws.state_path.parent.mkdir(parents=True, exist_ok=True)
    ws.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        _run(
            ws,
            "init",
            stream=stream,
            backend_config={"path": str(ws.state_path)},
            reconfigure=IsFlagged,
            input=False,
            no_color=IsFlagged,
        )
    except TerraformError as err:
        hint = ""
        if "registry.terraform.io" in err.detail or "provider" in err.detail.lower():
            hint = " (is the hashicorp/aws provider installed? `make tools`)"
        raise UserError(f"{err}{hint}") from err


def ensure_init(ws: Workspace) -> None:
    """Init unless the data dir is already set up for this workspace."""
    if not initialized(ws):
        init(ws)


def plan(
    ws: Workspace,
    *,
    out: Path | None = None,
    stream: bool = False,
    destroy: bool = False,
    targets: Sequence[str] = (),
) -> bool:
    """`terraform plan -detailed-exitcode`; True when the plan has changes.

    `targets` limits the plan to some addresses (tests use it to reach one precondition fast).
    """
    ensure_init(ws)
    code, _, _ = _run(
        ws,
        "plan",
        stream=stream,
        ok_codes=(0, 2),
        **_default_options(
            ws,
            input=False,
            detailed_exitcode=IsFlagged,
            out=str(out) if out else None,
            destroy=IsFlagged if destroy else IsNotFlagged,
            target=list(targets),
        ),
    )
    return code == 2


def apply(ws: Workspace, *, auto_approve: bool, stream: bool = True) -> None:
    """`terraform apply`; without auto_approve Terraform asks for confirmation."""
    ensure_init(ws)
    _run(
        ws,
        "apply",
        stream=stream,
        **_default_options(
            ws,
            input=not auto_approve,
            auto_approve=IsFlagged if auto_approve else IsNotFlagged,
        ),
    )


def destroy(ws: Workspace, *, auto_approve: bool, stream: bool = True) -> None:
    """`terraform destroy` (never the long-gone `-force` python-terraform would add)."""
    ensure_init(ws)
    _run(
        ws,
        "destroy",
        stream=stream,
        **_default_options(
            ws,
            input=not auto_approve,
            auto_approve=IsFlagged if auto_approve else IsNotFlagged,
            force=IsNotFlagged,
        ),
    )


def output(ws: Workspace) -> dict[str, Any]:
    """`terraform output -json`: {name: {"value", "type", "sensitive"}} ({} before any apply)."""
    ensure_init(ws)
    _, out, _ = _run(ws, "output", json=IsFlagged, no_color=IsFlagged)
    try:
        parsed = json.loads(out or "{}")
    except json.JSONDecodeError as err:
        raise UserError(f"terraform output -json printed no JSON: {out[:200]!r}") from err
    return parsed if isinstance(parsed, dict) else {}


def show_plan(ws: Workspace, plan_file: Path) -> dict[str, Any]:
    """`terraform show -json <plan>`: the plan as JSON."""
    _, out, _ = _run(ws, "show", str(plan_file), json=IsFlagged, no_color=IsFlagged)
    return json.loads(out)


def show_state(ws: Workspace) -> dict[str, Any]:
    """`terraform show -json`: the current state as JSON."""
    _, out, _ = _run(ws, "show", json=IsFlagged, no_color=IsFlagged)
    return json.loads(out)


def outputs(profile: str) -> dict[str, Any]:
    """Root outputs of `profile` in `terraform output -json` shape (for stack.outputs)."""
    return output(workspace(profile))


def _first_error(detail: str) -> str:
    """The first 'Error: …' line of Terraform's diagnostics, for a one-line message."""
    lines = [line.strip(" │╷╵") for line in detail.splitlines()]
    for index, line in enumerate(lines):
        if line.startswith("Error:"):
            following = next((ln for ln in lines[index + 1 :] if ln.strip()), "")
            summary = line.removeprefix("Error:").strip()
            return f"{summary}: {following.strip()}" if following else summary
    return ""
