"""`make demo` as a test: local-up through Terraform, a small demo of every system, local-down.

Runs the real path (package, `terraform apply` of the local profile against moto, the database
bootstrap, the runner and the gateway in the background, registrations via SQS and HTTP, an
import, a release, verify of every run and the lake) in a private directory on free ports, so
it never touches a developer's `.local/` stack.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import local_stack
from scripts.harness.stack import processes
from scripts.harness.stack import toolchain as tc

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
    run_demo_and_down(tmp_path / "local", capsys)


def run_demo_and_down(local_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layout_args = [
        "--local-dir", str(local_dir),
        "--moto-port", str(processes.free_port()),
        "--db-port", str(processes.free_port()),
        "--gateway-port", str(processes.free_port()),
    ]  # fmt: skip
    try:
        code = local_stack.main([
            *layout_args, "demo", "-n", "60", "--import-rows", "20", "--bake", "10",
            "--timeout", "300",
        ])  # fmt: skip
        out = capsys.readouterr().out
        log = (local_dir / "local-stack.log").read_text()
        assert code == 0, out + log[-3000:]
        # One line per phase on the terminal, the details in the log.
        assert [line.split("]")[0] for line in out.splitlines() if line.startswith("[")] == [
            f"[{n}/10" for n in range(1, 11)
        ]
        assert "demo passed" in out
        assert "registrations  updates" in out  # the lake's per-day table
        assert "promoted: live -> version 2 (100 %)" in out
        # The SQS run, the HTTP run and the import, each verified with the lake.
        assert log.count("verify: passed") == 3
        assert log.count("problem(s)") == 3 and "0 problem(s)" in log
        assert (local_dir / "registrations-per-day.png").read_bytes().startswith(b"\x89PNG")
        assert processes.read_pid(local_dir / "runner.pid") is not None
    finally:
        local_stack.main([*layout_args, "down"])
    assert processes.read_pid(local_dir / "runner.pid") is None
    assert processes.read_pid(local_dir / "gateway.pid") is None
    assert not (local_dir / "terraform" / "local.tfstate").exists()
    assert not (local_dir / "mariadb").exists()
