"""Fixtures for the Terraform contract tests: a private copy of the stack and a moto server.

The configuration is copied into a temporary directory so that a test session neither writes
`.terraform.lock.hcl` or state into the shared checkout nor sees files others are editing
mid-run. The deployment packages are snapshotted too (`dist/<function>.zip` when it exists,
else a small placeholder): a zip rebuilt during the session would show up as a diff.
"""

from __future__ import annotations

import dataclasses
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.harness.cli import UserError
from scripts.harness.stack import moto_server, processes
from scripts.harness.stack import terraform as tf
from scripts.harness.stack import toolchain as tc

REPO_ROOT = tc.REPO_ROOT
CONFIG_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf")
CONFIG_DIRS = ("modules", "envs")
# Files outside the configuration that it reads with file(): the ingest API's request model.
CONFIG_INPUTS = ("lambdas/registration/contract.schema.json",)


@dataclasses.dataclass(frozen=True)
class Stack:
    """A private copy of the root configuration plus the zip the function is deployed from."""

    root: Path
    zip_path: Path
    bootstrap_zip_path: Path
    importer_zip_path: Path
    changes_zip_path: Path
    endpoint_url: str
    work_dir: Path

    def workspace(
        self, profile: str = "local", name: str = "local", **variables: Any
    ) -> tf.Workspace:
        """A workspace of this copy against moto; `profile` picks envs/<profile>.tfvars.

        Both profiles run against moto here (fake credentials, AWS_ENDPOINT_URL), so the aws
        profile's real settings can be planned without an account. `name` separates state and
        data dirs.
        """
        local = tf.workspace(
            "local",
            root=self.root,
            endpoint_url=self.endpoint_url,
            state_dir=self.work_dir / name,
            variables={
                "function_zip_path": str(self.zip_path),
                "bootstrap_zip_path": str(self.bootstrap_zip_path),
                "importer_zip_path": str(self.importer_zip_path),
                "changes_zip_path": str(self.changes_zip_path),
                **variables,
            },
            environ={},
        )
        if profile == "local":
            return local
        # The aws profile keeps aws_endpoint_url unset (so the configuration is the real one);
        # the provider still reaches moto through AWS_ENDPOINT_URL in the environment.
        return dataclasses.replace(
            local,
            profile=profile,
            var_files=(self.root / "envs" / f"{profile}.tfvars",),
            variables={k: v for k, v in local.variables.items() if k != "aws_endpoint_url"},
        )


def _copy_configuration(destination: Path) -> None:
    for name in CONFIG_FILES:
        shutil.copy2(REPO_ROOT / name, destination / name)
    for name in CONFIG_INPUTS:
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, destination / name)
    for name in CONFIG_DIRS:
        shutil.copytree(
            REPO_ROOT / name,
            destination / name,
            ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*"),
        )


def _snapshot_zip(destination: Path, function: str) -> Path:
    built = REPO_ROOT / "dist" / f"{function}.zip"
    target = destination / f"{function}.zip"
    if built.is_file():
        shutil.copy2(built, target)
    else:
        with zipfile.ZipFile(target, "w") as archive:
            archive.writestr(
                f"{function}/app.py",
                "def lambda_handler(event, context):\n    return {}\n",
            )
            archive.writestr(f"{function}/__init__.py", "")
    return target


@pytest.fixture(scope="session")
def terraform_bin() -> Path:
    """The Terraform CLI; its absence fails the tests (`make test` runs `make tools` first)."""
    try:
        return tc.terraform_bin()
    except tc.ToolchainError as err:
        pytest.fail(f"Terraform toolchain absent: {err}")


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[moto_server.MotoServer]:
    """A moto server of this session on a free port."""
    base = tmp_path_factory.mktemp("moto")
    server = moto_server.MotoServer(base, port=processes.free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def stack(
    terraform_bin: Path, moto: moto_server.MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Stack:
    """The copied stack, initialised once; an init failure fails the tests, never skips them."""
    base = tmp_path_factory.mktemp("stack")
    root = base / "config"
    root.mkdir()
    _copy_configuration(root)
    result = Stack(
        root=root,
        zip_path=_snapshot_zip(base, "registration"),
        bootstrap_zip_path=_snapshot_zip(base, "bootstrap"),
        importer_zip_path=_snapshot_zip(base, "importer"),
        changes_zip_path=_snapshot_zip(base, "changes"),
        endpoint_url=moto.endpoint_url,
        work_dir=base / "work",
    )
    try:
        tf.init(result.workspace())
    except UserError as err:
        pytest.fail(f"terraform init failed: {err}")
    # Every later workspace of this copy reuses the providers installed by that first init.
    return result


def plan_json(ws: tf.Workspace, plan_file: Path, **kwargs: Any) -> dict[str, Any]:
    """Plan into `plan_file` and return `terraform show -json` of it."""
    tf.plan(ws, out=plan_file, **kwargs)
    return tf.show_plan(ws, plan_file)


@pytest.fixture(scope="session")
def local_plan(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Plan JSON of the local profile."""
    return plan_json(
        stack.workspace("local", name="plan-local"), tmp_path_factory.mktemp("plans") / "local"
    )


# The aws profile refuses a plan whose alarms would notify nobody; a real deployment sets its own.
ALARM_EMAIL = "oncall@example.com"


@pytest.fixture(scope="session")
def aws_plan(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Plan JSON of the aws profile (its settings, moto's data sources)."""
    return plan_json(
        stack.workspace("aws", name="plan-aws", alarm_email=ALARM_EMAIL),
        tmp_path_factory.mktemp("plans") / "aws",
    )


def planned_resources(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every resource change of a plan JSON (managed resources only)."""
    return [rc for rc in plan.get("resource_changes", []) if rc.get("mode") == "managed"]


def by_type(plan: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    """Resource changes of one type."""
    return [rc for rc in planned_resources(plan) if rc["type"] == resource_type]


def run_failing_plan(ws: tf.Workspace, targets: tuple[str, ...] = ()) -> str:
    """Plan that must fail; return Terraform's error text."""
    with pytest.raises(tf.TerraformError) as caught:
        tf.plan(ws, targets=targets)
    return caught.value.detail
