"""`make tools`: a Terraform CLI, the hashicorp/aws provider and tflint, offline if need be.

python -m scripts.toolchain            # install (build only what the cache lacks)
python -m scripts.toolchain env        # print the environment for Terraform, as KEY=VALUE
python -m scripts.toolchain rie        # build only the Lambda Runtime Interface Emulator
"""

from __future__ import annotations

import argparse
import sys
import time

from scripts.harness.stack import toolchain as tc


def install(pins: tc.Pins) -> None:
    """Build or reuse the CLI and the provider; write the mirror and CLI config when offline."""
    started = time.monotonic()
    cli = tc.find_cli(pins)
    if cli is None:
        target = tc.built_cli_path(pins)
        print(f"tools: no usable Terraform/OpenTofu on PATH; building OpenTofu {pins.cli_version}")
        tc.go_build(pins.cli_module, pins.cli_version, pins.cli_package, target)
        cli = target
    print(f"tools: CLI {cli} ({'.'.join(map(str, tc.cli_version(str(cli)) or ()))})")
    print(f"tools: Lambda Runtime Interface Emulator {tc.build_rie()}")

    if tc.registry_reachable() and not tc.cli_config_path().exists():
        print("tools: the Terraform registry is reachable: `terraform init` downloads the provider")
        return

    binary = tc.provider_binary(pins)
    if binary.exists():
        print(f"tools: provider cached at {binary}")
    else:
        print(
            f"tools: building hashicorp/aws {pins.provider_version} from "
            f"{pins.provider_module}@{pins.provider_module_version} (first run only: ~50 min "
            "on 2 cores)",
            flush=True,
        )
        build_started = time.monotonic()
        tc.go_build(pins.provider_module, pins.provider_module_version, ".", binary)
        print(f"tools: provider built in {time.monotonic() - build_started:.0f} s")
    tc.install_mirror(pins, binary)
    config = tc.write_cli_config(pins)
    print(f"tools: mirror {tc.mirror_dir()}; CLI config {config}")
    print(f"tools: ready in {time.monotonic() - started:.1f} s")


def install_tflint(pins: tc.TflintPins) -> None:
    """Build tflint and the AWS ruleset once; report each build's time and binary size."""
    for name, module, version, output in (
        ("tflint", pins.module, pins.version, tc.tflint_binary(pins)),
        (
            "tflint-ruleset-aws",
            pins.ruleset_module,
            pins.ruleset_version,
            tc.tflint_ruleset_binary(pins),
        ),
    ):
        if output.exists():
            print(f"tools: {name} cached at {output}")
            continue
        print(f"tools: building {name} from {module}@{version}", flush=True)
        build_started = time.monotonic()
        tc.go_build(module, version, ".", output)
        size_mb = output.stat().st_size / 1e6
        print(f"tools: {name} built in {time.monotonic() - build_started:.0f} s ({size_mb:.1f} MB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="toolchain", description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="install", choices=["install", "env", "rie"])
    args = parser.parse_args(argv)
    pins = tc.Pins.load()
    try:
        if args.command == "install":
            install_tflint(tc.TflintPins.load())
            install(pins)
        elif args.command == "rie":
            print(f"tools: Lambda Runtime Interface Emulator {tc.build_rie()}")
        else:
            env = {"TERRAFORM": str(tc.terraform_bin(pins)), **tc.terraform_env(pins)}
            for key, value in env.items():
                print(f"{key}={value}")
    except tc.ToolchainError as error:
        print(f"toolchain: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
