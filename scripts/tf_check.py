"""`make tf-check`: the Terraform gate run by every CI run.

1. `terraform fmt -check -recursive` over the whole tree (`.tf` and `envs/*.tfvars`): a file
   fmt cannot parse fails the gate like an unformatted one;
2. `init -backend=false` + `validate` of the root and of every module, with the real provider;
3. tflint with the AWS ruleset (`.tflint.hcl`) on every module and on the root once per profile,
   so the values a profile really deploys (instance class, runtime, ...) are the ones linted;
4. checkov (pinned, in its own virtualenv) over the tree: zero failed checks, no file it could not
   parse, at least one resource scanned, and every skipped check listed with a reason in
   `.checkov.yaml`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from scripts.harness.stack import toolchain as tc

CHECKOV = tc.REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


def terraform_dirs(root: Path) -> list[Path]:
    """The root configuration and every module under modules/."""
    return [root, *sorted(p.parent for p in (root / "modules").glob("*/versions.tf"))]


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def validate(directory: Path, terraform: str, env: dict[str, str]) -> list[str]:
    """Init and validate one configuration; return its error lines (empty when valid)."""
    init = run([terraform, "init", "-backend=false", "-input=false", "-no-color"], directory, env)
    if init.returncode != 0:
        return [f"init failed:\n{init.stdout}{init.stderr}"]
    result = run([terraform, "validate", "-json", "-no-color"], directory, env)
    report = json.loads(result.stdout or "{}")
    errors = []
    for diag in report.get("diagnostics", []):
        if diag.get("severity") == "error":
            where = diag.get("range", {})
            location = f"{where.get('filename', '?')}:{where.get('start', {}).get('line', '?')}"
            errors.append(f"{location}: {diag.get('summary')}: {diag.get('detail', '')}".strip())
    if result.returncode != 0 and not errors:
        errors.append(result.stderr.strip() or "validate failed")
    return errors


def check_fmt(root: Path, terraform: str, env: dict[str, str]) -> list[str]:
    """Unformatted files, and every file fmt could not parse (it lists only the former)."""
    cmd = [terraform, "fmt", "-check", "-recursive", "-list=true", "-no-color"]
    result = run(cmd, root, env)
    failures = [f"not formatted: {line}" for line in result.stdout.split()]
    # Each diagnostic reads "Error: <summary>" followed by "on <file> line <n>...".
    for summary, where in re.findall(r"Error: (.+?)\n.*?\bon (\S+ line \d+)", result.stderr, re.S):
        failures.append(f"fmt cannot parse {where}: {summary.strip()}")
    if result.returncode != 0 and not failures:
        failures.append(f"terraform fmt exited {result.returncode}: {result.stderr.strip()[-500:]}")
    return failures


def tflint_runs(root: Path) -> list[tuple[Path, Path | None]]:
    """(directory, var file) pairs: every module alone, the root once per profile."""
    modules = [(directory, None) for directory in terraform_dirs(root)[1:]]
    profiles = sorted((root / "envs").glob("*.tfvars"))
    return [*modules, *((root, var_file) for var_file in profiles or [None])]


def lint(directory: Path, var_file: Path | None, config: Path) -> list[str]:
    """tflint one configuration; return one line per issue or error (empty when clean)."""
    pins = tc.TflintPins.load()
    binary = tc.tflint_binary(pins)
    if not binary.exists():
        return ["tflint is not installed: run `make tools`"]
    cmd = [str(binary), f"--chdir={directory}", f"--config={config}", "--format=json"]
    if var_file is not None:
        cmd.append(f"--var-file={var_file}")
    env = {**os.environ, **tc.tflint_env(pins)}
    # Run from the tree's root, so tflint names files relative to it.
    result = run(cmd, config.parent, env)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        return [f"tflint did not report JSON (exit {result.returncode}): {result.stderr[-500:]}"]
    failures = []
    for issue in report.get("issues", []):
        where = issue.get("range", {})
        location = f"{where.get('filename', '?')}:{where.get('start', {}).get('line', '?')}"
        failures.append(f"{location}: {issue['rule']['name']}: {issue['message']}")
    failures += [f"tflint error: {error.get('message')}" for error in report.get("errors", [])]
    if result.returncode != 0 and not failures:
        failures.append(f"tflint exited {result.returncode}: {result.stderr.strip()[-500:]}")
    return failures


def check_tflint(root: Path) -> list[str]:
    """Lint every module and the root with each profile's variables, using `.tflint.hcl`."""
    config = root / ".tflint.hcl"
    failures = []
    for directory, var_file in tflint_runs(root):
        name = str(directory.relative_to(root))
        if var_file is not None:
            name += f" ({var_file.relative_to(root)})"
        issues = lint(directory, var_file, config)
        print(f"  tflint {name}: {'ok' if not issues else f'{len(issues)} issue(s)'}")
        failures += [f"{name}: {issue}" for issue in issues]
    return failures


def documented_skips(config: Path) -> set[str]:
    """Check ids listed with a reason in the config's comment block (`#   CKV_…: reason`)."""
    return set(
        re.findall(r"^#\s+(CKV2?_[A-Z0-9]+_\d+)\b.*:\s*\S", config.read_text(), re.MULTILINE)
    )


def check_checkov(root: Path) -> list[str]:
    """Run checkov; return one line per failed check and per skip not listed in the config."""
    if not CHECKOV.exists():
        return ["checkov is not installed: run `make tools` (it creates .venv-checkov)"]
    config = root / ".checkov.yaml"
    cmd = [str(CHECKOV), "-d", str(root), "--config-file", str(config), "-o", "json"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    try:
        reports = json.loads(result.stdout)
    except json.JSONDecodeError:
        return [f"checkov did not report JSON: {result.stderr.strip()[-500:]}"]
    failures: list[str] = []
    listed = documented_skips(config)
    # With nothing to scan checkov prints a bare summary instead of a report per framework.
    if isinstance(reports, dict) and "check_type" not in reports:
        reports = []
    if not reports:
        return ["checkov scanned no Terraform resources (is --root the repository?)"]
    for report in reports if isinstance(reports, list) else [reports]:
        summary = report.get("summary", {})
        results = report.get("results", {})
        failures += [
            f"checkov could not parse {path}" for path in results.get("parsing_errors", [])
        ]
        if not summary.get("resource_count"):
            failures.append(f"checkov {report.get('check_type')} scanned no resources")
        print(
            f"  checkov {report.get('check_type')}: {summary.get('passed', 0)} passed, "
            f"{summary.get('failed', 0)} failed, {summary.get('skipped', 0)} skipped"
        )
        for check in report.get("results", {}).get("skipped_checks", []):
            if check["check_id"] not in listed:
                failures.append(
                    f"{check['check_id']} {check['resource']}: skipped but not listed with a "
                    "reason in .checkov.yaml"
                )
        for check in report.get("results", {}).get("failed_checks", []):
            failures.append(
                f"{check['check_id']} {check['resource']} ({check['file_path']}): "
                f"{check['check_name']}"
            )
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tf_check", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=tc.REPO_ROOT, help="tree to check")
    parser.add_argument("--skip-checkov", action="store_true", help="only fmt, validate, tflint")
    args = parser.parse_args(argv)
    try:
        terraform = str(tc.terraform_bin())
    except tc.ToolchainError as error:
        print(f"tf-check: {error}", file=sys.stderr)
        return 1
    env = {**os.environ, **tc.terraform_env()}
    root = args.root.resolve()
    failures: list[str] = []

    started = time.monotonic()
    failures += check_fmt(root, terraform, env)
    for directory in terraform_dirs(root):
        errors = validate(directory, terraform, env)
        status = "ok" if not errors else f"{len(errors)} error(s)"
        print(f"  validate {directory.relative_to(root)}: {status}")
        failures += [f"{directory.relative_to(root)}: {error}" for error in errors]
    failures += check_tflint(root)
    if not args.skip_checkov:
        failures += check_checkov(root)

    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    elapsed = time.monotonic() - started
    print(f"tf-check: {'passed' if not failures else 'FAILED'} in {elapsed:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
