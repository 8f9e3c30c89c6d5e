"""Cold-start import time and packaging time, each measured in fresh processes.

Import time is taken inside a fresh ``python -I -S -B`` (what `lambda_bootstrap` runs): the
extracted zip first on ``sys.path``, then a directory holding only boto3 and its dependencies (the
Lambda runtime's SDK, from `lambda_runtime.build_runtime_dir`). ``-B`` writes no bytecode, so
the zip's sources are compiled on every run, exactly as on Lambda's read-only /var/task.
Packaging runs `python -m scripts.package` as `make package` does, into a temporary output so
dist/ in the checkout is never touched; the dependency cache is the normal toolchain cache.
"""

from __future__ import annotations

import compileall
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
IMPORT_PROBE = (
    "import sys, time\n"
    "sys.path[:0] = [sys.argv[1]]\n"
    "sys.path.append(sys.argv[2])\n"
    "started = time.perf_counter()\n"
    "for name in sys.argv[3].split(','):\n"
    "    __import__(name)\n"
    "print(time.perf_counter() - started)\n"
)
HANDLER_MODULE = "registration.app"
SDK_MODULES = "boto3,pymysql"
IMPORTTIME_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def _probe(
    code_dir: Path, runtime_dir: Path, modules: str, *flags: str, python: str = sys.executable
) -> subprocess.CompletedProcess[str]:
    """Run the import probe in a fresh interpreter (stdout: seconds; stderr: -X output)."""
    command = [python, "-I", "-S", "-B", *flags, "-c", IMPORT_PROBE]
    command += [str(code_dir), str(runtime_dir), modules]
    env = {"PATH": os.environ.get("PATH", ""), "POWERTOOLS_SERVICE_NAME": "registration"}
    return subprocess.run(command, capture_output=True, text=True, check=True, env=env)


def import_seconds(
    code_dir: Path, runtime_dir: Path, modules: str, python: str = sys.executable
) -> float:
    return float(_probe(code_dir, runtime_dir, modules, python=python).stdout.strip())


@dataclass(frozen=True)
class ImportTimes:
    handler_ms: list[float]
    sdk_ms: list[float]

    @property
    def handler_median_ms(self) -> float:
        return statistics.median(self.handler_ms)

    @property
    def sdk_median_ms(self) -> float:
        return statistics.median(self.sdk_ms)


def measure_imports(
    code_dir: Path, runtime_dir: Path, runs: int, python: str = sys.executable
) -> ImportTimes:
    """Alternate the two probes run by run, so background load hits both alike.

    ``python`` is the interpreter (the runtime's 3.12 uses the zip's bytecode; another minor
    version compiles the sources, as a zip without bytecode makes Lambda do).
    """
    handler: list[float] = []
    sdk: list[float] = []
    for _ in range(runs):
        handler.append(import_seconds(code_dir, runtime_dir, HANDLER_MODULE, python) * 1000)
        sdk.append(import_seconds(code_dir, runtime_dir, SDK_MODULES, python) * 1000)
    return ImportTimes(handler, sdk)


# Cumulative import sets, each a fresh interpreter: what each layer adds on top of the SDKs.
IMPORT_LAYERS = (
    ("boto3 + pymysql", SDK_MODULES),
    ("+ powertools Logger", f"{SDK_MODULES},aws_lambda_powertools.logging"),
    (
        "+ powertools BatchProcessor",
        f"{SDK_MODULES},aws_lambda_powertools.logging,aws_lambda_powertools.utilities.batch",
    ),
    ("+ registration (the handler)", HANDLER_MODULE),
)


def measure_layers(code_dir: Path, runtime_dir: Path, runs: int) -> list[dict[str, Any]]:
    """Median import time of each cumulative layer; layers alternate run by run (fair load)."""
    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        for label, modules in IMPORT_LAYERS:
            samples[label].append(import_seconds(code_dir, runtime_dir, modules) * 1000)
    return [
        {
            "layer": label,
            "modules": modules,
            "median_ms": round(statistics.median(samples[label]), 1),
        }
        for label, modules in IMPORT_LAYERS
    ]


def compiled_runtime_dir(python: str, runtime_dir: Path, destination: Path) -> Path:
    """The runtime's SDK with bytecode for ``python``, as Lambda's own image ships it.

    The harness's SDK is installed for another Python; without this, every probe on 3.12 would
    compile boto3 from source and hide the handler's share in the SDK's. The tree is mirrored
    with real directories and symlinked files, so the compiled files land in the mirror and the
    shared virtualenv is left alone.
    """
    for top in runtime_dir.iterdir():
        source = top.resolve()
        if source.is_file():
            (destination / top.name).parent.mkdir(parents=True, exist_ok=True)
            (destination / top.name).symlink_to(source)
            continue
        for path in source.rglob("*"):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            link = destination / top.name / path.relative_to(source)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path)
    subprocess.run(
        [python, "-I", "-m", "compileall", "-q", "-j", "0", str(destination)],
        check=True,
        capture_output=True,
    )
    return destination


def compiled_copy(code_dir: Path, destination: Path) -> Path:
    """The extracted zip with bytecode (what a build host with the runtime's Python could ship)."""
    shutil.copytree(code_dir, destination)
    compileall.compile_dir(destination, quiet=1, workers=1)
    return destination


def import_profile(code_dir: Path, runtime_dir: Path, top: int = 12) -> list[dict[str, Any]]:
    """``-X importtime`` of the handler, as self time per top-level package (largest first)."""
    stderr = _probe(code_dir, runtime_dir, HANDLER_MODULE, "-X", "importtime").stderr
    self_us: dict[str, int] = defaultdict(int)
    for line in stderr.splitlines():
        match = IMPORTTIME_LINE.match(line)
        if match:
            self_us[match.group(4).split(".")[0]] += int(match.group(1))
    ranked = sorted(self_us.items(), key=lambda item: item[1], reverse=True)[:top]
    return [{"package": name, "self_ms": round(us / 1000, 1)} for name, us in ranked]


@dataclass(frozen=True)
class PackagingTimes:
    clean_s: float
    noop_s: list[float]
    zip_path: Path
    zip_bytes: int

    @property
    def noop_median_s(self) -> float:
        return statistics.median(self.noop_s)


def _package(output: Path) -> float:
    command = [sys.executable, "-m", "scripts.package", "--output", str(output)]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"scripts.package failed: {result.stderr.strip()}")
    return elapsed


def measure_packaging(output_dir: Path, noop_runs: int = 3) -> PackagingTimes:
    """A build into an empty output dir, then no-op rebuilds (whole CLI process, wall clock)."""
    output = output_dir / "registration.zip"
    clean = _package(output)
    noop = [_package(output) for _ in range(noop_runs)]
    return PackagingTimes(clean, noop, output, output.stat().st_size)
