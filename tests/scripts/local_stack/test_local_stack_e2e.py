"""`make demo` as a test: local-up through Terraform, a small demo, verify, local-down.

Runs the real path (package, `terraform apply` of the local profile against moto, MariaDB
provisioned from the stack's secret, the runner in the background) in a private directory on
free ports, so it never touches a developer's `.local/` stack.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts import local_stack
from scripts.harness.stack import outputs, processes
from scripts.harness.stack import toolchain as tc
from tests.scripts.gateway.support import create_ingest_api
from tests.scripts.local_stack.conftest import StackSpec, build_stack

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture(scope="module")
def terraform() -> str:
    """The project's CLI and provider; like the Terraform gate, never silently skipped."""
    try:
        return str(tc.terraform_bin())
    except tc.ToolchainError as error:
        pytest.fail(f"{error} (make test runs `make tools` first)")


@pytest.mark.terraform
def test_demo_through_terraform_then_down(
    terraform: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    local_dir = tmp_path / "local"
    run_demo_and_down(local_dir, capsys)


def test_demo_orchestration_with_a_boto3_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Everything `demo` does except `terraform apply`: the stack comes from boto3 instead."""

    def deploy(layout: local_stack.Layout) -> outputs.StackOutputs:
        stack = build_stack(
            layout.session(),
            layout.endpoint_url,
            local_stack.package.DEFAULT_OUTPUT.read_bytes(),
            spec=StackSpec(timeout_s=10),
            db_port=layout.db_port,
            db_password="boto3-stack-password",
        )
        ingest = create_ingest_api(layout.session(), queue_url=stack.queue_url)
        layout.outputs_file.write_text(
            json.dumps({**json.loads(stack.to_json()), **ingest.outputs()})
        )
        return stack

    monkeypatch.setattr(local_stack, "deploy", deploy)
    run_demo_and_down(tmp_path / "local", capsys)


def run_demo_and_down(local_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layout_args = [
        "--local-dir", str(local_dir),
        "--moto-port", str(processes.free_port()),
        "--db-port", str(processes.free_port()),
        "--gateway-port", str(processes.free_port()),
    ]  # fmt: skip
    try:
        code = local_stack.main([*layout_args, "demo", "-n", "60", "--timeout", "300"])
        out = capsys.readouterr().out
        assert code == 0, out
        assert "verify: passed" in out
        assert "messages/second end to end" in out
        assert (local_dir / "outputs.json").is_file()
        assert processes.read_pid(local_dir / "runner.pid") is not None
        assert out.count("verify: passed") == 2  # the SQS part and the HTTP part
    finally:
        local_stack.main([*layout_args, "down"])
    assert processes.read_pid(local_dir / "runner.pid") is None
    assert processes.read_pid(local_dir / "gateway.pid") is None
    assert not (local_dir / "terraform" / "local.tfstate").exists()
    assert not (local_dir / "mariadb").exists()
