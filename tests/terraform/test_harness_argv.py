"""The Terraform harness and scripts.deploy against a fake `terraform` that records its calls.

No toolchain needed: these pin the argv and environment python-terraform 0.10.1 produces once
its quirks are worked around (no `-force`, no default options on init, …).
"""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from scripts import deploy
from scripts.harness.cli import UserError
from scripts.harness.stack import terraform as tf

FAKE_TERRAFORM = textwrap.dedent(
    """\
    #!{python}
    import json, os, sys
    args = sys.argv[1:]
    if args[:1] == ["version"]:
        print(json.dumps({{"terraform_version": "1.11.4"}}))
        sys.exit(0)
    var_files = {{}}
    for arg in args:
        if arg.startswith("-var-file=") and arg.endswith(".json"):
            with open(arg.split("=", 1)[1]) as handle:
                var_files[arg] = json.load(handle)
    keys = ("TF_DATA_DIR", "AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_REGION",
            "TF_IN_AUTOMATION")
    record = {{"argv": args, "cwd": os.getcwd(), "var_files": var_files,
              "env": {{key: os.environ.get(key) for key in keys}}}}
    with open(os.environ["FAKE_TF_LOG"], "a") as log:
        log.write(json.dumps(record) + "\\n")
    if args[:1] == ["output"]:
        print(os.environ.get("FAKE_TF_OUTPUT", "{{}}"))
    code = int(os.environ.get("FAKE_TF_EXIT_" + args[0].upper(), "0"))
    if code == 1:
        bar = "\\u2502"
        print(f"{{bar}} Error: Invalid value for variable\\n{{bar}}\\n{{bar}} details here",
              file=sys.stderr)
    sys.exit(code)
    """
)


@pytest.fixture
def fake_terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Install the fake CLI through $TERRAFORM; returns the log of its calls."""
    script = tmp_path / "terraform"
    script.write_text(FAKE_TERRAFORM.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("TERRAFORM", str(script))
    monkeypatch.setenv("FAKE_TF_LOG", str(log))
    monkeypatch.setenv("AWS_PROFILE", "someone-real")
    return log


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A configuration directory with both profile files."""
    config = tmp_path / "config"
    (config / "envs").mkdir(parents=True)
    for profile in ("local", "aws"):
        (config / "envs" / f"{profile}.tfvars").write_text(f'environment = "{profile}"\n')
    return config


def calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


_workspace = tf.workspace  # the real one, also while a test replaces deploy's


def local_ws(root: Path, **kwargs: Any) -> tf.Workspace:
    return _workspace(
        "local", root=root, endpoint_url="http://127.0.0.1:4599", state_dir=root / "st", **kwargs
    )


def test_destroy_never_passes_the_removed_force_flag(fake_terraform: Path, root: Path) -> None:
    ws = local_ws(root)
    tf.destroy(ws, auto_approve=True, stream=False)
    init, destroy = calls(fake_terraform)
    assert init["argv"][0] == "init" and destroy["argv"][0] == "destroy"
    assert "-force" not in destroy["argv"]
    assert "-auto-approve" in destroy["argv"] and "-input=false" in destroy["argv"]
    assert f"-var-file={root / 'envs' / 'local.tfvars'}" in destroy["argv"]


def test_interactive_apply_lets_terraform_ask(fake_terraform: Path, root: Path) -> None:
    tf.apply(local_ws(root), auto_approve=False, stream=False)
    apply = calls(fake_terraform)[-1]
    assert "-auto-approve" not in apply["argv"] and "-input=true" in apply["argv"]


def test_init_gets_only_init_flags(fake_terraform: Path, root: Path) -> None:
    ws = local_ws(root)
    tf.init(ws)
    (init,) = calls(fake_terraform)
    assert init["argv"][0] == "init"
    assert f"-backend-config=path={ws.state_path}" in init["argv"]
    assert not [arg for arg in init["argv"] if arg.startswith(("-var", "-state", "-target"))]
    assert init["env"]["TF_DATA_DIR"] == str(ws.data_dir)


def test_local_profile_targets_the_emulator_with_fake_credentials(
    fake_terraform: Path, root: Path
) -> None:
    before = dict(os.environ)
    tf.plan(local_ws(root, variables={"function_zip_path": "dist/x.zip"}))
    plan = calls(fake_terraform)[-1]
    assert plan["env"]["AWS_ACCESS_KEY_ID"] == "test"
    assert plan["env"]["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4599"
    assert plan["env"]["AWS_PROFILE"] is None
    assert plan["env"]["AWS_REGION"] == "us-east-1"
    (variables,) = plan["var_files"].values()
    assert variables == {
        "aws_endpoint_url": "http://127.0.0.1:4599",
        "function_zip_path": "dist/x.zip",
    }
    # The profile file comes first so that the explicit variables win.
    var_files = [arg for arg in plan["argv"] if arg.startswith("-var-file=")]
    assert var_files[0].endswith("envs/local.tfvars")
    assert "-detailed-exitcode" in plan["argv"]
    assert dict(os.environ) == before, "os.environ must be restored"


def test_local_endpoint_follows_the_environment(root: Path) -> None:
    ws = tf.workspace("local", root=root, environ={"LOCALSTACK_HOST": "127.0.0.1:4600"})
    assert ws.variables["aws_endpoint_url"] == "http://127.0.0.1:4600"
    assert ws.state_path == root / ".local" / "terraform" / "local.tfstate"


def test_aws_profile_refuses_an_endpoint_override(root: Path) -> None:
    with pytest.raises(UserError, match="AWS_ENDPOINT_URL is set"):
        tf.workspace("aws", root=root, environ={"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"})
    ws = tf.workspace("aws", root=root, environ={})
    assert "aws_endpoint_url" not in ws.variables
    assert ws.state_path == root / "terraform.tfstate.d" / "aws" / "terraform.tfstate"


def test_plan_exit_codes(fake_terraform: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = local_ws(root)
    assert tf.plan(ws) is False
    monkeypatch.setenv("FAKE_TF_EXIT_PLAN", "2")
    assert tf.plan(ws) is True
    monkeypatch.setenv("FAKE_TF_EXIT_PLAN", "1")
    with pytest.raises(tf.TerraformError) as caught:
        tf.plan(ws)
    assert str(caught.value) == (
        "terraform plan failed (exit 1): Invalid value for variable: details here"
    )


def test_deploy_rejects_bad_arguments_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["launch"], ["apply", "--profile", "prod"], ["outputs", "--auto-approve"]):
        with pytest.raises(SystemExit) as caught:
            deploy.main(argv)
        assert caught.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("deploy: "), err


def test_deploy_outputs_prints_json(
    fake_terraform: Path,
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(deploy.tf, "workspace", lambda profile: local_ws(root))
    monkeypatch.setenv(
        "FAKE_TF_OUTPUT", json.dumps({"queue_url": {"value": "http://q", "sensitive": False}})
    )
    assert deploy.main(["outputs", "--profile", "local"]) == 0
    assert json.loads(capsys.readouterr().out) == {"queue_url": "http://q"}


def test_deploy_apply_without_zip_is_a_one_line_error(
    fake_terraform: Path,
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(deploy.tf, "workspace", lambda profile: local_ws(root))
    code = deploy.cli.run("deploy", deploy.main, ["apply", "--profile", "local"])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("deploy: ") and "make package" in err and len(err.splitlines()) == 1


def test_deploy_apply_names_the_missing_bootstrap_zip(
    fake_terraform: Path,
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (root / "dist").mkdir()
    (root / "dist" / "registration.zip").write_bytes(b"PK")
    monkeypatch.setattr(deploy.tf, "workspace", lambda profile: local_ws(root))
    code = deploy.cli.run("deploy", deploy.main, ["apply", "--profile", "local"])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert "bootstrap.zip" in err and "registration.zip" not in err
    assert not fake_terraform.exists(), "terraform must not run without the zips"
