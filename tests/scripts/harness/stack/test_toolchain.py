"""The offline toolchain: what `make tools` builds and lays out is what Terraform and tflint use.

The mirror tests build a tiny provider from the local Go module `tiny_provider/`
(terraform-plugin-framework from the Go module proxy), install it with the harness's own mirror
and CLI-config functions and run `terraform init` + `validate` against it, with the registry
excluded so nothing can fall back.
The provider binary is cached under the hash of its source, so a warm run does not rebuild it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from scripts.harness.stack import toolchain as tc

pytestmark = pytest.mark.terraform

TINY_PROVIDER = Path(__file__).with_name("tiny_provider")


def configuration(version: str) -> str:
    return f"""terraform {{
  required_providers {{
    tiny = {{
      source  = "example/tiny"
      version = "{version}"
    }}
  }}
}}

provider "tiny" {{}}
"""


@pytest.fixture(scope="session")
def tiny_provider() -> Path:
    """The tiny provider's binary, built once per source text into the toolchain cache."""
    source = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        source.update((TINY_PROVIDER / name).read_bytes())
    binary = (
        tc.cache_dir() / "test-providers" / f"terraform-provider-tiny-{source.hexdigest()[:16]}"
    )
    if binary.exists():
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    partial = binary.with_name(binary.name + ".partial")
    build = subprocess.run(
        ["go", "build", *tc.GO_BUILD_FLAGS, "-o", str(partial), "."],
        cwd=TINY_PROVIDER,
        env={**os.environ, "CGO_ENABLED": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    partial.rename(binary)
    return binary


@pytest.fixture
def mirrored(tiny_provider: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tc.Pins:
    """A private toolchain cache whose mirror holds the tiny provider as version 0.1.0."""
    monkeypatch.setenv("REG_CACHE_DIR", str(tmp_path / "cache"))
    pins = dataclasses.replace(
        tc.Pins.load(), provider_source="example/tiny", provider_version="0.1.0"
    )
    local_copy = tc.cache_dir() / "bin" / tiny_provider.name
    local_copy.parent.mkdir(parents=True)
    shutil.copy2(tiny_provider, local_copy)
    tc.install_mirror(pins, local_copy)
    tc.write_cli_config(pins)
    return pins


def terraform(args: list[str], cwd: Path, pins: tc.Pins) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **tc.terraform_env(pins)}
    env.pop("TF_PLUGIN_CACHE_DIR", None)
    cmd = [str(tc.terraform_bin()), *args, "-no-color"]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def test_the_mirror_holds_the_provider_for_both_registry_hosts(mirrored: tc.Pins) -> None:
    for host in tc.REGISTRY_HOSTS:
        directory = tc.mirror_dir() / host / "example" / "tiny" / "0.1.0" / tc.go_platform()
        binary = directory / "terraform-provider-tiny_v0.1.0_x5"
        assert binary.is_file() and os.access(binary, os.X_OK), binary
    assert tc.terraform_env(mirrored)["TF_CLI_CONFIG_FILE"] == str(tc.cli_config_path())


def test_init_installs_the_mirrored_provider_and_validate_starts_it(
    mirrored: tc.Pins, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "main.tf").write_text(configuration("0.1.0"))

    init = terraform(["init", "-input=false"], config, mirrored)
    assert init.returncode == 0, init.stdout + init.stderr
    assert "Installing example/tiny v0.1.0" in init.stdout, init.stdout
    installed = config / ".terraform" / "providers" / "registry.terraform.io" / "example" / "tiny"
    assert (installed / "0.1.0" / tc.go_platform()).is_dir()

    validate = terraform(["validate"], config, mirrored)
    assert validate.returncode == 0 and "Success" in validate.stdout, validate.stderr


def test_init_cannot_fall_back_to_the_registry_for_a_mirrored_provider(
    mirrored: tc.Pins, tmp_path: Path
) -> None:
    (tmp_path / "main.tf").write_text(configuration("0.2.0"))

    init = terraform(["init", "-input=false"], tmp_path, mirrored)

    assert init.returncode != 0
    assert "example/tiny" in init.stderr and "0.2.0" in init.stderr, init.stderr


def test_the_built_tflint_and_ruleset_are_the_pinned_versions() -> None:
    pins = tc.TflintPins.load()
    binary = tc.tflint_binary(pins)
    assert binary.exists(), "tflint is not built: run `make tools`"
    env = {**os.environ, **tc.tflint_env(pins)}

    result = subprocess.run(
        [str(binary), "--version"], env=env, capture_output=True, text=True, check=True
    )

    assert re.search(rf"TFLint version {re.escape(pins.version.lstrip('v'))}\b", result.stdout)
    ruleset = re.escape(pins.ruleset_version.lstrip("v"))
    assert re.search(rf"ruleset\.aws \({ruleset}\)", result.stdout), result.stdout
