"""Locate or build the Terraform CLI and the hashicorp/aws provider, offline if need be.

Our machines (and CI) reach the Go module proxy but not the Terraform registry, so `terraform
init` cannot download hashicorp/aws. This module builds the provider (and, when no usable CLI is
on PATH, OpenTofu) from Go modules into a per-user cache, lays the provider out as a filesystem
mirror for both registry hostnames and writes a CLI config that uses it. Everything is pinned in
`toolchain.toml` and cached by version, so only the first run pays for the build.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
PINS_FILE = REPO_ROOT / "toolchain.toml"
REGISTRY_HOSTS = ("registry.terraform.io", "registry.opentofu.org")
GO_BUILD_FLAGS = ("-trimpath", "-ldflags=-s -w")


class ToolchainError(RuntimeError):
    """A toolchain step failed in a way the user must act on."""


@dataclass(frozen=True)
class Pins:
    """Versions from toolchain.toml."""

    terraform_min: str
    tofu_min: str
    cli_module: str
    cli_version: str
    cli_package: str
    provider_source: str
    provider_version: str
    provider_module: str
    provider_module_version: str
    checkov_version: str

    @classmethod
    def load(cls, path: Path = PINS_FILE) -> Pins:
        raw = tomllib.loads(path.read_text())
        cli, provider = raw["cli"], raw["provider"]
        return cls(
            terraform_min=cli["terraform_min"],
            tofu_min=cli["tofu_min"],
            cli_module=cli["build_module"],
            cli_version=cli["build_version"],
            cli_package=cli["build_package"],
            provider_source=provider["source"],
            provider_version=provider["version"],
            provider_module=provider["module"],
            provider_module_version=provider["module_version"],
            checkov_version=raw["checkov"]["version"],
        )


def cache_dir() -> Path:
    """Per-user cache shared by every checkout (REG_CACHE_DIR overrides)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return Path(os.environ.get("REG_CACHE_DIR", default / "sqs-lambda-registrations"))


def cli_config_path() -> Path:
    return cache_dir() / "terraform.rc"


def mirror_dir() -> Path:
    return cache_dir() / "provider-mirror"


def go_platform() -> str:
    """The provider platform string of this machine, e.g. linux_amd64."""
    out = subprocess.run(
        ["go", "env", "GOOS", "GOARCH"], check=True, capture_output=True, text=True
    ).stdout.split()
    return f"{out[0]}_{out[1]}"


def parse_version(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    if not match:
        raise ToolchainError(f"cannot read a version from {text!r}")
    return tuple(int(part) for part in match.groups())


def cli_version(binary: str) -> tuple[int, ...] | None:
    """The version a Terraform/OpenTofu binary reports, or None if it does not run."""
    try:
        out = subprocess.run(
            [binary, "version", "-json"], check=True, capture_output=True, text=True, timeout=60
        ).stdout
        return parse_version(json.loads(out)["terraform_version"])
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, ToolchainError):
        return None


def built_cli_path(pins: Pins) -> Path:
    return cache_dir() / "bin" / f"tofu-{pins.cli_version}"


def find_cli(pins: Pins) -> Path | None:
    """A usable CLI: TERRAFORM from the environment, then PATH, then a cached build."""
    candidates: list[tuple[str, str]] = []
    if explicit := os.environ.get("TERRAFORM"):
        candidates.append((explicit, "0.0.0"))
    for name, minimum in (("terraform", pins.terraform_min), ("tofu", pins.tofu_min)):
        if found := shutil.which(name):
            candidates.append((found, minimum))
    candidates.append((str(built_cli_path(pins)), pins.tofu_min))
    for binary, minimum in candidates:
        version = cli_version(binary)
        if version is not None and version >= parse_version(minimum):
            return Path(binary)
    return None


def registry_reachable(timeout: float = 3.0) -> bool:
    """True when the public Terraform registry answers; REG_TF_OFFLINE=1 forces the offline path."""
    if os.environ.get("REG_TF_OFFLINE") == "1":
        return False
    try:
        with socket.create_connection((REGISTRY_HOSTS[0], 443), timeout=timeout):
            return True
    except OSError:
        return False


def _go_module_dir(module: str, version: str) -> Path:
    """Download a module through the Go module proxy and return its (read-only) directory."""
    proc = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True,
        text=True,
        check=False,
    )
    info = json.loads(proc.stdout or "{}")
    if proc.returncode != 0 or "Dir" not in info:
        reason = info.get("Error", proc.stderr)
        raise ToolchainError(f"go mod download {module}@{version}: {reason}")
    return Path(info["Dir"])


def go_build(module: str, version: str, package: str, output: Path) -> None:
    """Build `package` of a module in a writable copy.

    `go install pkg@version` refuses modules whose go.mod has `replace` directives; building
    inside a copy of the module makes it the main module, where replaces are honoured.
    """
    source = _go_module_dir(module, version)
    workdir = cache_dir() / "build" / f"{module.rsplit('/', 1)[-1]}@{version}"
    if not workdir.exists():
        tmp = workdir.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(source, tmp)
        for path in [tmp, *tmp.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
        tmp.rename(workdir)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod -buildvcs=false"}
    cmd = ["go", "build", *GO_BUILD_FLAGS, "-o", str(partial), package]
    if subprocess.run(cmd, cwd=workdir, env=env, check=False).returncode != 0:
        raise ToolchainError(f"go build of {module}@{version} failed (see the output above)")
    partial.rename(output)
    shutil.rmtree(workdir, ignore_errors=True)


@dataclass(frozen=True)
class RiePins:
    """The Runtime Interface Emulator's Go module, from toolchain.toml's [rie] section."""

    module: str
    version: str
    package: str

    @classmethod
    def load(cls, path: Path = PINS_FILE) -> RiePins:
        rie = tomllib.loads(path.read_text())["rie"]
        return cls(module=rie["module"], version=rie["version"], package=rie["package"])


def rie_binary(pins: RiePins | None = None) -> Path:
    """Where `make tools` puts aws-lambda-rie (it may not be built yet)."""
    pins = pins or RiePins.load()
    return cache_dir() / "bin" / f"aws-lambda-rie-{pins.version}"


def build_rie(pins: RiePins | None = None) -> Path:
    """Build aws-lambda-rie unless cached; returns its path."""
    pins = pins or RiePins.load()
    binary = rie_binary(pins)
    if not binary.exists():
        go_build(pins.module, pins.version, pins.package, binary)
    return binary


def provider_binary(pins: Pins) -> Path:
    return cache_dir() / "bin" / f"terraform-provider-aws-{pins.provider_module_version}"


def install_mirror(pins: Pins, binary: Path) -> None:
    """Lay the provider out as an unpacked filesystem mirror for both registry hostnames."""
    namespace, name = pins.provider_source.split("/")
    for host in REGISTRY_HOSTS:
        target = mirror_dir() / host / namespace / name / pins.provider_version / go_platform()
        target.mkdir(parents=True, exist_ok=True)
        dest = target / f"terraform-provider-{name}_v{pins.provider_version}_x5"
        if dest.exists():
            dest.unlink()
        os.link(binary, dest)


def write_cli_config(pins: Pins) -> Path:
    """A CLI config that takes hashicorp/aws from the mirror and everything else as usual."""
    providers = ", ".join(f'"{host}/{pins.provider_source}"' for host in REGISTRY_HOSTS)
    plugin_cache = cache_dir() / "plugin-cache"
    plugin_cache.mkdir(parents=True, exist_ok=True)
    text = f"""# Written by scripts/toolchain.py: hashicorp/aws comes from a local build.
plugin_cache_dir = "{plugin_cache}"

provider_installation {{
  filesystem_mirror {{
    path    = "{mirror_dir()}"
    include = [{providers}]
  }}
  direct {{
    exclude = [{providers}]
  }}
}}
"""
    path = cli_config_path()
    path.write_text(text)
    return path


def terraform_env(pins: Pins | None = None) -> dict[str, str]:
    """Environment additions every Terraform call of the project should use."""
    pins = pins or Pins.load()
    env = {"TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    if cli_config_path().exists():
        env["TF_CLI_CONFIG_FILE"] = str(cli_config_path())
    return env


def terraform_bin(pins: Pins | None = None) -> Path:
    """The CLI to run, or a ToolchainError telling the user to run `make tools`."""
    found = find_cli(pins or Pins.load())
    if found is None:
        raise ToolchainError("no Terraform >= 1.5 or OpenTofu >= 1.8 found: run `make tools`")
    return found


@dataclass(frozen=True)
class TflintPins:
    """tflint and its AWS ruleset, from the `[tflint]` section of toolchain.toml."""

    module: str
    version: str
    ruleset_module: str
    ruleset_version: str

    @classmethod
    def load(cls, path: Path = PINS_FILE) -> TflintPins:
        section = tomllib.loads(path.read_text())["tflint"]
        return cls(
            module=section["module"],
            version=section["version"],
            ruleset_module=section["ruleset_module"],
            ruleset_version=section["ruleset_version"],
        )


def tflint_binary(pins: TflintPins) -> Path:
    return cache_dir() / "bin" / f"tflint-{pins.version}"


def tflint_plugin_dir(pins: TflintPins) -> Path:
    """A plugin directory per ruleset version, holding the binary under the name tflint expects."""
    return cache_dir() / "tflint-plugins" / f"aws-{pins.ruleset_version}"


def tflint_ruleset_binary(pins: TflintPins) -> Path:
    return tflint_plugin_dir(pins) / "tflint-ruleset-aws"


def tflint_env(pins: TflintPins | None = None) -> dict[str, str]:
    """Environment every tflint call needs: where the hand-installed ruleset lives."""
    return {"TFLINT_PLUGIN_DIR": str(tflint_plugin_dir(pins or TflintPins.load()))}
