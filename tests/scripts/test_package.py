"""scripts.package: reproducible bytes, bytecode, the no-op skip, offline rebuilds, every function.

The build tests install the pinned dependencies from the package index (two clean caches, so
two independent pip runs must still give one sha256). Where a CPython 3.12 exists (this machine
has one under pyenv) the builds include its bytecode, and the zip's code is imported by it.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from scripts import package

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE = REPO_ROOT / "lambdas" / "registration"
COMPILER = package.runtime_python()
# No python3.12 on PATH and no pyenv: what a build host without the runtime's Python looks like.
WITHOUT_COMPILER = {"PATH": "/usr/bin:/bin", "PYENV_ROOT": "/nonexistent"}


def elf_header(machine: int, *, big_endian: bool = False) -> bytes:
    header = bytearray(64)
    header[:4] = package.ELF_MAGIC
    header[4] = 2  # 64-bit
    header[5] = 2 if big_endian else 1
    header[18:20] = machine.to_bytes(2, "big" if big_endian else "little")
    return bytes(header)


class TestNativeCodeGate:
    def test_reads_e_machine_in_either_byte_order(self) -> None:
        assert package.elf_machine(elf_header(62)) == 62
        assert package.elf_machine(elf_header(183, big_endian=True)) == 183
        assert package.elf_machine(b"#!/usr/bin/env python\n" + bytes(40)) is None
        assert package.elf_machine(b"\x7fELF") is None  # truncated

    def test_any_native_file_fails_unless_allowed(self, tmp_path: Path) -> None:
        library = tmp_path / "speedups.so"
        library.write_bytes(elf_header(62))
        entries = [("pkg/speedups.cpython-312-x86_64-linux-gnu.so", library)]
        with pytest.raises(package.PackagingError, match="must be pure Python"):
            package.check_native_code(entries, "x86_64", [])
        package.check_native_code(entries, "x86_64", ["pkg/*.so"])

    def test_allowed_native_file_must_match_the_architecture(self, tmp_path: Path) -> None:
        library = tmp_path / "lib.so"
        library.write_bytes(elf_header(62))
        with pytest.raises(package.PackagingError, match="expected 183 for arm64"):
            package.check_native_code([("pkg/lib.so", library)], "arm64", ["pkg/*"])

    def test_elf_without_so_suffix_is_still_caught(self, tmp_path: Path) -> None:
        binary = tmp_path / "helper"
        binary.write_bytes(elf_header(183))
        with pytest.raises(package.PackagingError, match="pkg/bin/helper"):
            package.check_native_code([("pkg/bin/helper", binary)], "arm64", [])


class TestRequirements:
    def test_pins_with_hashes_and_continuations(self, tmp_path: Path) -> None:
        requirements = tmp_path / "requirements.txt"
        requirements.write_text(
            "# comment\nAWS_Lambda.Powertools==3.37.0 \\\n    --hash=sha256:abc\npymysql==1.2.4\n"
        )
        assert package.pinned_requirements(requirements) == {
            "aws-lambda-powertools": "3.37.0",
            "pymysql": "1.2.4",
        }

    @pytest.mark.parametrize("line", ["pymysql>=1.0", "pymysql", "git+https://x/y.git"])
    def test_only_exact_pins_are_accepted(self, tmp_path: Path, line: str) -> None:
        requirements = tmp_path / "requirements.txt"
        requirements.write_text(line + "\n")
        with pytest.raises(package.PackagingError, match="exact pin"):
            package.pinned_requirements(requirements)

    def test_the_real_requirements_pin_the_whole_closure_without_boto3(self) -> None:
        pins = package.pinned_requirements(SOURCE / "requirements.txt")
        assert {"aws-lambda-powertools", "pymysql", "jmespath", "typing-extensions"} == set(pins)

    @pytest.mark.parametrize(
        ("installed", "message"),
        [
            ({"pymysql": "1.2.4", "boto3": "1.0"}, "runtime provides them"),
            ({"pymysql": "1.2.4", "extra-dep": "1.0"}, "unpinned transitive"),
            ({"pymysql": "1.2.3"}, "differ from the pins"),
        ],
    )
    def test_installed_set_must_equal_the_pins(
        self, installed: dict[str, str], message: str
    ) -> None:
        with pytest.raises(package.PackagingError, match=message):
            package.check_distributions(installed, {"pymysql": "1.2.4"})


def test_zip_bytes_ignore_file_times_and_modes(tmp_path: Path) -> None:
    source = tmp_path / "a.py"
    source.write_text("print('a')\n")
    package.write_zip([("x/a.py", source)], tmp_path / "one.zip")
    source.chmod(0o755)
    source.touch()
    package.write_zip([("x/a.py", source)], tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


def copy_source(destination: Path) -> Path:
    shutil.copytree(SOURCE, destination, ignore=shutil.ignore_patterns("__pycache__"))
    return destination


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.package", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


@pytest.fixture(scope="module")
def two_clean_builds(tmp_path_factory: pytest.TempPathFactory) -> list[package.BuildResult]:
    """Two builds from scratch: separate source copies, outputs and dependency caches."""
    results = []
    for name in ("first", "second"):
        base = tmp_path_factory.mktemp(name)
        results.append(
            package.build(
                arch="x86_64",
                source_dir=copy_source(base / "registration"),
                output=base / "dist" / "registration.zip",
                cache_dir=base / "cache",
                compiler=COMPILER,
            )
        )
    return results


def test_two_clean_builds_are_byte_identical(two_clean_builds: list[package.BuildResult]) -> None:
    first, second = two_clean_builds
    assert not first.skipped and not second.skipped
    assert first.sha256_base64 == second.sha256_base64
    assert first.path.read_bytes() == second.path.read_bytes()


def test_zip_layout(two_clean_builds: list[package.BuildResult]) -> None:
    with zipfile.ZipFile(two_clean_builds[0].path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert "registration/app.py" in names
    assert "pymysql/__init__.py" in names
    assert "aws_lambda_powertools/utilities/batch/__init__.py" in names
    sources = {n for n in names if n.endswith(".py")}
    compiled = {n for n in names if n.endswith(".pyc")}
    if COMPILER is None:
        assert not compiled
    else:
        expected = {
            str(Path(n).parent / "__pycache__" / f"{Path(n).stem}.cpython-312.pyc") for n in sources
        }
        assert compiled == expected
    assert not [n for n in names if n.split("/")[0] in {"boto3", "botocore", "s3transfer", "bin"}]
    assert not [n for n in names if n.rsplit("/", 1)[-1] in {"RECORD", "INSTALLER", "REQUESTED"}]
    assert not [n for n in names if n.startswith("registration/") and n.endswith(".txt")]
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}


def test_noop_rebuild_is_skipped(two_clean_builds: list[package.BuildResult]) -> None:
    built = two_clean_builds[0]
    base = built.path.parent.parent
    args = ["--source-dir", str(base / "registration"), "--output", str(built.path)]
    before = built.path.stat().st_mtime_ns
    result = run_cli(*args, "--cache-dir", str(base / "cache"))
    assert result.returncode == 0, result.stderr
    assert "up to date, inputs unchanged (skipped)" in result.stdout
    assert built.sha256_base64 in result.stdout
    assert built.path.stat().st_mtime_ns == before  # not rewritten


def test_each_build_is_kept_by_its_sha256(two_clean_builds: list[package.BuildResult]) -> None:
    built = two_clean_builds[0]
    kept = built.path.parent / "code" / f"{built.sha256_hex}.zip"
    assert kept.read_bytes() == built.path.read_bytes()
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == built.sha256_hex


@pytest.mark.skipif(COMPILER is None, reason="no CPython 3.12 on this machine")
def test_the_bytecode_is_unchecked_hash_and_imported_by_312(
    two_clean_builds: list[package.BuildResult], tmp_path: Path
) -> None:
    assert COMPILER is not None
    with zipfile.ZipFile(two_clean_builds[0].path) as archive:
        archive.extractall(tmp_path / "task")
        header = archive.read("registration/__pycache__/models.cpython-312.pyc")[:8]
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, not checked against source
    # Read-only like /var/task: 3.12 must import the shipped bytecode, not write any.
    probe = (
        "import sys; sys.dont_write_bytecode = True; sys.path.insert(0, '.'); "
        "import registration.models as m; "
        "print(m.__spec__.cached, m.__loader__.get_code('registration.models').co_filename)"
    )
    (tmp_path / "task" / "registration" / "models.py").write_text(
        "raise SystemExit('source ran')\n"
    )
    result = subprocess.run(
        [str(COMPILER[0]), "-I", "-c", probe],
        cwd=tmp_path / "task",
        capture_output=True,
        text=True,
        check=False,
    )
    # The source was replaced, yet the module imports: unchecked-hash bytecode is trusted as is.
    assert result.returncode == 0, result.stderr
    assert "models.cpython-312.pyc" in result.stdout


def test_without_a_312_the_zip_ships_sources_and_says_so(tmp_path: Path) -> None:
    source = copy_source(tmp_path / "registration")
    output = tmp_path / "registration.zip"
    cache = tmp_path / "cache"
    env = {**WITHOUT_COMPILER, "HOME": str(tmp_path)}
    args = ["--source-dir", str(source), "--output", str(output), "--cache-dir", str(cache)]
    result = run_cli(*args, env=env)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "sources only" in line]
    assert len(lines) == 2  # the one-line notice, and the build's own summary
    assert lines[0].startswith("package: no CPython 3.12")
    with zipfile.ZipFile(output) as archive:
        assert not [n for n in archive.namelist() if n.endswith(".pyc")]


def test_every_function_in_lambdas_gets_its_own_zip(
    two_clean_builds: list[package.BuildResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lambdas = tmp_path / "lambdas"
    copy_source(lambdas / "registration")
    other = lambdas / "importer"
    other.mkdir()
    (other / "app.py").write_text("def lambda_handler(event, context):\n    return event\n")
    (other / "requirements.txt").write_text((SOURCE / "requirements.txt").read_text())
    (lambdas / "notes").mkdir()  # no app.py: not a function
    monkeypatch.setattr(package, "LAMBDAS_DIR", lambdas)
    monkeypatch.setattr(package, "DIST_DIR", tmp_path / "dist")
    cache = two_clean_builds[0].path.parent.parent / "cache"
    assert package.main(["--cache-dir", str(cache)]) == 0
    for name in ("registration", "importer"):
        zip_path = tmp_path / "dist" / f"{name}.zip"
        with zipfile.ZipFile(zip_path) as archive:
            assert f"{name}/app.py" in archive.namelist()
        digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()
        assert (tmp_path / "dist" / "code" / f"{digest}.zip").is_file()
    assert sorted(p.name for p in (tmp_path / "dist").glob("*.zip")) == [
        "importer.zip",
        "registration.zip",
    ]


def test_source_change_rebuilds_from_the_dependency_cache_without_pip(
    two_clean_builds: list[package.BuildResult], tmp_path: Path
) -> None:
    cache = two_clean_builds[0].path.parent.parent / "cache"
    source = copy_source(tmp_path / "registration")
    (source / "app.py").write_text((source / "app.py").read_text() + "\n# changed\n")
    output = tmp_path / "registration.zip"
    # An unreachable index: the rebuild must not need pip at all.
    env = {**WITHOUT_COMPILER, "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "HOME": str(tmp_path)}
    args = ["--source-dir", str(source), "--output", str(output), "--cache-dir", str(cache)]
    result = run_cli(*args, env=env)
    assert result.returncode == 0, result.stderr
    assert ": built in" in result.stdout
    assert package.sha256_base64(output) != two_clean_builds[0].sha256_base64


def test_arm64_of_pure_python_dependencies_is_the_same_zip(
    two_clean_builds: list[package.BuildResult], tmp_path: Path
) -> None:
    arm = package.build(
        arch="arm64",
        source_dir=copy_source(tmp_path / "registration"),
        output=tmp_path / "registration.zip",
        cache_dir=two_clean_builds[0].path.parent.parent / "cache",
        compiler=COMPILER,
    )
    assert arm.sha256_base64 == two_clean_builds[0].sha256_base64


def test_changing_architecture_is_not_a_noop(two_clean_builds: list[package.BuildResult]) -> None:
    built = two_clean_builds[0]
    source = built.path.parent.parent / "registration"
    digest = package.inputs_digest(source, source / "requirements.txt", "x86_64", [])
    assert digest != package.inputs_digest(source, source / "requirements.txt", "arm64", [])
    assert digest != package.inputs_digest(
        source, source / "requirements.txt", "x86_64", [], "3.12.1"
    )


def test_bad_arguments_are_one_line() -> None:
    result = run_cli("--arch", "sparc")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "invalid choice: 'sparc'" in result.stderr
