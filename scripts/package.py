"""Build one zip per function in lambdas/ for the Lambda python3.12 runtime, reproducibly.

Every ``lambdas/<name>/`` with an ``app.py`` and a ``requirements.txt`` is a function: its zip
``dist/<name>.zip`` holds the ``<name>`` package (handler ``<name>.app.lambda_handler``) plus the
pinned, pure-Python dependencies of its requirements.txt, installed by pip for the Lambda platform
(manylinux2014, x86_64 or aarch64, CPython 3.12). Each build is also kept as
``dist/code/<sha256 hex>.zip``, so the local runner finds the code of any published version by
its ``CodeSha256``.

Entries are sorted, timestamped 1980-01-01, mode 0644, without install-time dist-info files, so
equal inputs give byte-equal zips and Terraform's ``source_code_hash`` only changes when the code
does. When a CPython 3.12 is found (on PATH or under pyenv) every module is also shipped compiled
(``__pycache__/*.cpython-312.pyc``, unchecked-hash: no timestamps, and Lambda's read-only
/var/task could not cache them), so a cold start does not compile its imports; without one the
zip has sources only and the build says so. A build whose inputs (sources, requirements,
architecture, compiler, this script) are unchanged is skipped; installed dependencies are cached
per requirements file and architecture under the toolchain cache, so rebuilding after a source
change needs neither pip nor the network.
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

PACKAGER_VERSION = "2"
REPO_ROOT = Path(__file__).resolve().parents[1]
LAMBDAS_DIR = REPO_ROOT / "lambdas"
DIST_DIR = REPO_ROOT / "dist"
DEFAULT_SOURCE_DIR = LAMBDAS_DIR / "registration"
DEFAULT_OUTPUT = DIST_DIR / "registration.zip"
PYTHON_VERSION = "3.12"
PYC_TAG = "cpython-312"
# Compiles (source path, zip name, pyc path) triples read as JSON from stdin, as Python's own
# py_compile would with --invalidation-mode unchecked-hash, but with the zip name as co_filename
# so no build-host path ends up in the bytes.
COMPILE_SCRIPT = """
import importlib.util, json, sys
from importlib._bootstrap_external import _code_to_hash_pyc
for source_path, arcname, pyc_path in json.load(sys.stdin):
    source = open(source_path, "rb").read()
    code = compile(source, "/var/task/" + arcname, "exec", dont_inherit=True)
    data = _code_to_hash_pyc(code, importlib.util.source_hash(source), False)
    open(pyc_path, "wb").write(data)
"""

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
    compiled_with: str | None = None

    @property
    def sha256_hex(self) -> str:
        return base64.b64decode(self.sha256_base64).hex()


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


def runtime_python() -> tuple[Path, str] | None:
    """A CPython whose minor version is the runtime's: ``python3.12`` on PATH, else under pyenv.

    Returns its path and full version (part of the build inputs: another patch release may
    marshal differently), or None when there is none.
    """
    candidates: list[str] = []
    on_path = shutil.which(f"python{PYTHON_VERSION}")
    if on_path:
        candidates.append(on_path)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += [
        str(path)
        for path in sorted(
            pyenv_root.glob(f"versions/{PYTHON_VERSION}.*/bin/python{PYTHON_VERSION}")
        )
    ]
    probe_code = (
        "import platform, sys; "
        "print(sys.implementation.name, platform.python_version(), sys.executable)"
    )
    for candidate in candidates:
        probe = subprocess.run(
            [candidate, "-c", probe_code], capture_output=True, text=True, check=False
        )
        implementation, version, executable = [*probe.stdout.split(" ", 2), "", ""][:3]
        if (
            probe.returncode == 0
            and implementation == "cpython"
            and version.startswith(PYTHON_VERSION + ".")
        ):
            # The interpreter itself, not a pyenv shim that depends on the caller's environment.
            return Path(executable.strip()), version
    return None


def compile_entries(
    entries: Sequence[tuple[str, Path]], python: Path, work_dir: Path
) -> list[tuple[str, Path]]:
    """``__pycache__`` entries for every ``.py`` entry, compiled by the runtime's Python."""
    jobs = []
    for index, (arcname, path) in enumerate(entries):
        if not arcname.endswith(".py"):
            continue
        folder, _, filename = arcname.rpartition("/")
        pyc_name = f"{folder + '/' if folder else ''}__pycache__/{filename[:-3]}.{PYC_TAG}.pyc"
        jobs.append((str(path), arcname, str(work_dir / f"{index}.pyc"), pyc_name))
    result = subprocess.run(
        [str(python), "-I", "-c", COMPILE_SCRIPT],
        input=json.dumps([job[:3] for job in jobs]),
        capture_output=True,
        text=True,
        check=False,
        # Frozenset constants are marshalled in hash order: a fixed seed keeps the bytes stable.
        env={"PYTHONHASHSEED": "0", "PATH": os.environ.get("PATH", "")},
    )
    if result.returncode != 0:
        raise PackagingError(f"compiling with {python} failed:\n{result.stderr.strip()}")
    return [(pyc_name, Path(pyc_path)) for _, _, pyc_path, pyc_name in jobs]


def functions(lambdas_dir: Path) -> list[Path]:
    """Every function source directory: ``lambdas/<name>/`` with app.py and requirements.txt."""
    return sorted(
        path.parent
        for path in lambdas_dir.glob("*/app.py")
        if (path.parent / "requirements.txt").is_file()
    )


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
    source_dir: Path,
    requirements: Path,
    arch: str,
    allow_native: Sequence[str],
    compiler_version: str | None = None,
) -> str:
    """Hash of everything that determines the zip's bytes."""
    digest = hashlib.sha256()

    def feed(*parts: bytes) -> None:
        for part in parts:
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)

    feed(PACKAGER_VERSION.encode(), Path(__file__).read_bytes(), arch.encode())
    feed(PYTHON_VERSION.encode(), "\0".join(sorted(allow_native)).encode())
    feed(source_dir.name.encode(), (compiler_version or "sources only").encode())
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


def dependency_entries(site_dir: Path, package_name: str) -> list[tuple[str, Path]]:
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
        if top == package_name:
            raise PackagingError(f"a dependency ships a top-level '{package_name}' package")
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
    output: Path | None = None,
    cache_dir: Path | None = None,
    allow_native: Sequence[str] = (),
    force: bool = False,
    compiler: tuple[Path, str] | None = None,
) -> BuildResult:
    """Build ``source_dir`` (a function's package) into ``output`` (default dist/<name>.zip).

    ``compiler`` is the runtime Python from `runtime_python` (None: sources only).
    """
    started = time.perf_counter()
    if arch not in ARCHITECTURES:
        raise PackagingError(f"unknown architecture {arch!r}: use {' or '.join(ARCHITECTURES)}")
    package_name = source_dir.name
    output = output or DIST_DIR / f"{package_name}.zip"
    requirements = source_dir / "requirements.txt"
    if not (source_dir / "app.py").is_file() or not requirements.is_file():
        raise PackagingError(f"{source_dir} has no app.py and requirements.txt")
    stamp = output.with_name(output.name + ".inputs.json")
    compiler_version = compiler[1] if compiler else None
    digest = inputs_digest(source_dir, requirements, arch, allow_native, compiler_version)
    if not force and output.is_file() and stamp.is_file():
        recorded = json.loads(stamp.read_text())
        current_sha = sha256_base64(output)
        if recorded.get("inputs") == digest and recorded.get("sha256") == current_sha:
            result = BuildResult(
                output,
                output.stat().st_size,
                current_sha,
                True,
                time.perf_counter() - started,
                compiler_version,
            )
            keep_by_sha(result.path, result.path.parent / "code")
            return result
    site_dir = install_dependencies(requirements, arch, cache_dir or default_cache_dir())
    entries = dependency_entries(site_dir, package_name) + [
        (f"{package_name}/{path.relative_to(source_dir).as_posix()}", path)
        for path in handler_sources(source_dir)
    ]
    check_native_code(entries, arch, allow_native)
    with tempfile.TemporaryDirectory(prefix="pyc-") as work_dir:
        if compiler is not None:
            entries += compile_entries(entries, compiler[0], Path(work_dir))
        write_zip(entries, output)
    sha = sha256_base64(output)
    stamp.write_text(
        json.dumps(
            {"inputs": digest, "sha256": sha, "arch": arch, "compiled_with": compiler_version},
            indent=2,
        )
        + "\n"
    )
    result = BuildResult(
        output,
        output.stat().st_size,
        sha,
        False,
        time.perf_counter() - started,
        compiler_version,
    )
    keep_by_sha(result.path, result.path.parent / "code")
    return result


def keep_by_sha(zip_path: Path, code_dir: Path = DIST_DIR / "code") -> Path:
    """``<code_dir>/<sha256 hex>.zip``: the code of a version, found by its CodeSha256."""
    kept = code_dir / f"{hashlib.sha256(zip_path.read_bytes()).hexdigest()}.zip"
    if not kept.is_file():
        kept.parent.mkdir(parents=True, exist_ok=True)
        temporary = kept.with_name(kept.name + ".tmp")
        shutil.copyfile(zip_path, temporary)
        os.replace(temporary, kept)
    return kept


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="package", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), default="x86_64")
    parser.add_argument(
        "--source-dir",
        type=Path,
        default=None,
        help="build only this function (default: every lambdas/<name>/)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="the one zip to write (default: dist/<name>.zip); alone, builds lambdas/registration",
    )
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


def _shown(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.source_dir is not None:
        sources = [args.source_dir.resolve()]
    elif args.output is not None:  # one zip named by the caller: the registration function's
        sources = [DEFAULT_SOURCE_DIR]
    else:
        sources = functions(LAMBDAS_DIR)
    compiler = runtime_python()
    if compiler is None:
        print(
            f"package: no CPython {PYTHON_VERSION} on PATH or under pyenv: "
            "the zips ship sources only (each cold start compiles its imports)"
        )
    for source_dir in sources:
        try:
            result = build(
                arch=args.arch,
                source_dir=source_dir,
                output=args.output.resolve() if args.output else None,
                cache_dir=args.cache_dir,
                allow_native=args.allow_native,
                force=args.force,
                compiler=compiler,
            )
        except PackagingError as error:
            print(f"package: {error}", file=sys.stderr)
            return 1
        state = "up to date, inputs unchanged (skipped)" if result.skipped else "built"
        code = f"with {PYTHON_VERSION} bytecode" if result.compiled_with else "sources only"
        print(f"{_shown(result.path)}: {state} in {result.seconds:.2f} s ({args.arch}, {code})")
        print(f"  size    {result.size} bytes")
        print(f"  sha256  {result.sha256_base64}  (base64: Terraform source_code_hash)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
