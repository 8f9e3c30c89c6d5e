"""Build dist/registration.zip for the Lambda python3.12 runtime, reproducibly and without Docker.

The zip holds the ``registration`` package plus the pinned, pure-Python dependencies from
lambdas/registration/requirements.txt, installed by pip for the Lambda platform (manylinux2014,
x86_64 or aarch64, CPython 3.12). Entries are sorted, timestamped 1980-01-01, mode 0644, with no
bytecode and no install-time dist-info files, so equal inputs give byte-equal zips and Terraform's
``source_code_hash`` only changes when the code does. A build whose inputs (sources, requirements,
architecture, this script) are unchanged is skipped; installed dependencies are cached per
requirements file and architecture under the toolchain cache, so rebuilding after a source change
needs neither pip nor the network.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

PACKAGER_VERSION = "1"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE_DIR = REPO_ROOT / "lambdas" / "registration"
DEFAULT_OUTPUT = REPO_ROOT / "dist" / "registration.zip"
PACKAGE_NAME = "registration"
PYTHON_VERSION = "3.12"

# Lambda architecture -> (pip platform tag, ELF e_machine of its native code).
ARCHITECTURES = {
    "x86_64": ("manylinux2014_x86_64", 62),  # EM_X86_64
    "arm64": ("manylinux2014_aarch64", 183),  # EM_AARCH64
}
ELF_MAGIC = b"\x7fELF"
# The runtime ships these; a bundled copy would shadow the runtime's and bloat the zip.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
# Files pip writes at install time that describe the installation, not the code.
INSTALL_NOISE = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
SOURCE_PATTERNS = ("*.py", "certs/*.pem")
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--
ZIP_UNIX = 3
REQUIREMENT_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;\\]+)")


class PackagingError(Exception):
    """The zip cannot be built as required; the message says what to change."""


@dataclass(frozen=True)
class BuildResult:
    path: Path
    size: int
    sha256_base64: str
    skipped: bool
    seconds: float


class _Parser(argparse.ArgumentParser):
    """One-line argument errors (kept local: importing the shared CLI module pulls in boto3,
    which alone would blow the no-op build's time budget)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def default_cache_dir() -> Path:
    """The toolchain cache (same rule as scripts.harness.stack.toolchain.cache_dir, not imported to
    keep the no-op build fast)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return Path(os.environ.get("REG_CACHE_DIR", default / "sqs-lambda-registrations"))


def normalize_name(name: str) -> str:
    """PEP 503 normalized distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_requirements(requirements: Path) -> dict[str, str]:
    """``{normalized name: version}`` of every ``name==version`` line (continuations joined)."""
    text = requirements.read_text().replace("\\\n", " ")
    pins: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.split("#", 1)[0].strip()
        if not stripped:
            continue
        match = REQUIREMENT_PIN.match(stripped)
        if match is None:
            raise PackagingError(f"{requirements}: not an exact pin (name==version): {stripped!r}")
        pins[normalize_name(match.group(1))] = match.group(2)
    return pins


def handler_sources(source_dir: Path) -> list[Path]:
    """The files of the handler package that go into the zip, sorted."""
    found = {
        path
        for pattern in SOURCE_PATTERNS
        for path in source_dir.rglob(pattern)
        if "__pycache__" not in path.parts and path.is_file()
    }
    return sorted(found, key=lambda path: path.relative_to(source_dir).as_posix())


def inputs_digest(
    source_dir: Path, requirements: Path, arch: str, allow_native: Sequence[str]
) -> str:
    """Hash of everything that determines the zip's bytes."""
    digest = hashlib.sha256()

    def feed(*parts: bytes) -> None:
        for part in parts:
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)

    feed(PACKAGER_VERSION.encode(), Path(__file__).read_bytes(), arch.encode())
    feed(PYTHON_VERSION.encode(), "\0".join(sorted(allow_native)).encode())
    feed(requirements.read_bytes())
    for path in handler_sources(source_dir):
        feed(path.relative_to(source_dir).as_posix().encode(), path.read_bytes())
    return digest.hexdigest()


def sha256_base64(path: Path) -> str:
    """What Terraform's filebase64sha256() and Lambda's CodeSha256 report."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def elf_machine(header: bytes) -> int | None:
    """``e_machine`` of an ELF header, or None when the bytes are not ELF."""
    if len(header) < 20 or not header.startswith(ELF_MAGIC):
        return None
    byteorder = "big" if header[5] == 2 else "little"
    return int.from_bytes(header[18:20], byteorder)


def check_native_code(files: Iterable[tuple[str, Path]], arch: str, allowed: Sequence[str]) -> None:
    """Fail on any ELF file unless allowed by pattern, and on any for the wrong architecture."""
    expected = ARCHITECTURES[arch][1]
    problems = []
    for arcname, path in files:
        with path.open("rb") as handle:
            machine = elf_machine(handle.read(20))
        if machine is None:
            continue
        if not any(fnmatch.fnmatch(arcname, pattern) for pattern in allowed):
            problems.append(f"{arcname}: native code (dependencies must be pure Python)")
        elif machine != expected:
            problems.append(f"{arcname}: ELF e_machine {machine}, expected {expected} for {arch}")
    if problems:
        raise PackagingError(
            "native code check failed:\n  "
            + "\n  ".join(problems)
            + "\n(--allow-native GLOB admits a reviewed native file for the target architecture)"
        )


def installed_distributions(site_dir: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for metadata in site_dir.glob("*.dist-info/METADATA"):
        headers = dict(
            line.split(": ", 1)
            for line in metadata.read_text(errors="replace").split("\n\n", 1)[0].splitlines()
            if ": " in line
        )
        found[normalize_name(headers.get("Name", metadata.parent.name))] = headers.get(
            "Version", "?"
        )
    return found


def check_distributions(installed: dict[str, str], pins: dict[str, str]) -> None:
    """The installed set must be exactly the pinned set: nothing unpinned, nothing provided."""
    bundled_runtime = sorted(RUNTIME_PROVIDED & installed.keys())
    if bundled_runtime:
        raise PackagingError(
            f"{', '.join(bundled_runtime)} would be bundled, but the Lambda runtime provides them: "
            "drop whatever pulls them in (e.g. a powertools extra) from requirements.txt"
        )
    unpinned = sorted(set(installed) - set(pins))
    if unpinned:
        raise PackagingError(f"unpinned transitive dependencies: {', '.join(unpinned)}; pin them")
    mismatched = sorted(name for name, version in pins.items() if installed.get(name) != version)
    if mismatched:
        raise PackagingError(f"installed versions differ from the pins for {', '.join(mismatched)}")


def install_dependencies(requirements: Path, arch: str, cache_dir: Path) -> Path:
    """The pinned dependencies installed for the Lambda platform, cached by requirements + arch."""
    platform_tag = ARCHITECTURES[arch][0]
    key = hashlib.sha256(
        b"\0".join(
            [requirements.read_bytes(), platform_tag.encode(), PYTHON_VERSION.encode(), b"deps-1"]
        )
    ).hexdigest()[:24]
    site_dir = cache_dir / "lambda-deps" / f"{arch}-{key}"
    if (site_dir / ".complete").is_file():
        return site_dir
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{arch}-", dir=site_dir.parent))
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "--no-compile",
        "--platform",
        platform_tag,
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        "--only-binary=:all:",
        "--cache-dir",
        str(cache_dir / "pip"),
        "--target",
        str(staging),
        "--requirement",
        str(requirements),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise PackagingError(f"pip install failed:\n{result.stderr.strip()}")
    try:
        check_distributions(installed_distributions(staging), pinned_requirements(requirements))
    except PackagingError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    (staging / ".complete").write_text("\n".join(command) + "\n")
    shutil.rmtree(site_dir, ignore_errors=True)
    staging.rename(site_dir)
    return site_dir


def dependency_entries(site_dir: Path) -> list[tuple[str, Path]]:
    entries = []
    for path in site_dir.rglob("*"):
        relative = path.relative_to(site_dir)
        top = relative.parts[0]
        if (
            not path.is_file()
            or top in {"bin", ".complete"}
            or "__pycache__" in relative.parts
            or path.suffix == ".pyc"
            or (top.endswith(".dist-info") and path.name in INSTALL_NOISE)
        ):
            continue
        if top == PACKAGE_NAME:
            raise PackagingError(f"a dependency ships a top-level '{PACKAGE_NAME}' package")
        entries.append((relative.as_posix(), path))
    return entries


def write_zip(entries: Sequence[tuple[str, Path]], output: Path) -> None:
    """Deterministic zip: sorted names, fixed time, fixed mode, maximum deflate."""
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(output.name + ".tmp")
    with zipfile.ZipFile(temporary, "w") as archive:
        for arcname, path in sorted(entries):
            info = zipfile.ZipInfo(arcname, date_time=FIXED_DATE_TIME)
            info.create_system = ZIP_UNIX
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    os.replace(temporary, output)


def build(
    *,
    arch: str,
    source_dir: Path = DEFAULT_SOURCE_DIR,
    output: Path = DEFAULT_OUTPUT,
    cache_dir: Path | None = None,
    allow_native: Sequence[str] = (),
    force: bool = False,
) -> BuildResult:
    started = time.perf_counter()
    if arch not in ARCHITECTURES:
        raise PackagingError(f"unknown architecture {arch!r}: use {' or '.join(ARCHITECTURES)}")
    requirements = source_dir / "requirements.txt"
    if not (source_dir / "app.py").is_file() or not requirements.is_file():
        raise PackagingError(f"{source_dir} has no app.py and requirements.txt")
    stamp = output.with_name(output.name + ".inputs.json")
    digest = inputs_digest(source_dir, requirements, arch, allow_native)
    if not force and output.is_file() and stamp.is_file():
        recorded = json.loads(stamp.read_text())
        current_sha = sha256_base64(output)
        if recorded.get("inputs") == digest and recorded.get("sha256") == current_sha:
            return BuildResult(
                output, output.stat().st_size, current_sha, True, time.perf_counter() - started
            )
    site_dir = install_dependencies(requirements, arch, cache_dir or default_cache_dir())
    entries = dependency_entries(site_dir) + [
        (f"{PACKAGE_NAME}/{path.relative_to(source_dir).as_posix()}", path)
        for path in handler_sources(source_dir)
    ]
    check_native_code(entries, arch, allow_native)
    write_zip(entries, output)
    sha = sha256_base64(output)
    stamp.write_text(json.dumps({"inputs": digest, "sha256": sha, "arch": arch}, indent=2) + "\n")
    return BuildResult(output, output.stat().st_size, sha, False, time.perf_counter() - started)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="package", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), default="x86_64")
    parser.add_argument("--source-dir", type=Path, default=DEFAULT_SOURCE_DIR)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: $REG_CACHE_DIR")
    parser.add_argument(
        "--allow-native",
        action="append",
        default=[],
        metavar="GLOB",
        help="admit native files matching GLOB (zip path), checked against --arch",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if inputs are unchanged")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = build(
            arch=args.arch,
            source_dir=args.source_dir.resolve(),
            output=args.output.resolve(),
            cache_dir=args.cache_dir,
            allow_native=args.allow_native,
            force=args.force,
        )
    except PackagingError as error:
        print(f"package: {error}", file=sys.stderr)
        return 1
    try:
        shown = result.path.relative_to(Path.cwd())
    except ValueError:
        shown = result.path
    state = "up to date, inputs unchanged (skipped)" if result.skipped else "built"
    print(f"{shown}: {state} in {result.seconds:.2f} s ({args.arch})")
    print(f"  size    {result.size} bytes")
    print(f"  sha256  {result.sha256_base64}  (base64: Terraform source_code_hash)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
