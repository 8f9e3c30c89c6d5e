"""The Terraform gate must reject what it is there to reject, using the real provider."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from scripts import tf_check
from scripts.harness.stack import toolchain as tc

pytestmark = pytest.mark.terraform


@pytest.fixture(scope="module")
def terraform() -> str:
    """The project's CLI; the gate never runs without it, so neither does this test."""
    try:
        return str(tc.terraform_bin())
    except tc.ToolchainError as error:
        pytest.fail(f"{error} (make test runs `make tools` first)")


@pytest.fixture
def env() -> dict[str, str]:
    return {**os.environ, **tc.terraform_env()}


@pytest.fixture
def table_module(tmp_path: Path) -> Path:
    """A private copy of the table module, to break without touching the tree."""
    copy = tmp_path / "table"
    shutil.copytree(
        tc.REPO_ROOT / "modules" / "table", copy, ignore=shutil.ignore_patterns(".terraform*")
    )
    return copy


def test_real_module_validates(table_module: Path, terraform: str, env: dict[str, str]) -> None:
    assert tf_check.validate(table_module, terraform, env) == []


def test_wrong_attribute_fails_validate(
    table_module: Path, terraform: str, env: dict[str, str]
) -> None:
    main_tf = table_module / "main.tf"
    text = main_tf.read_text()
    broken, count = re.subn(
        r'(resource "aws_dynamodb_table" "\w+" \{\n)', r"\1  no_such_argument = true\n", text
    )
    assert count == 1, "the table module should declare one aws_dynamodb_table"
    main_tf.write_text(broken)

    errors = tf_check.validate(table_module, terraform, env)

    assert any("Unsupported argument" in error for error in errors), errors
    assert any("no_such_argument" in error for error in errors), errors


def test_fmt_flags_unformatted_file(tmp_path: Path, terraform: str, env: dict[str, str]) -> None:
    (tmp_path / "ugly.tf").write_text('variable "x" {\ndefault="a"\n}\n')
    assert tf_check.check_fmt(tmp_path, terraform, env) == ["not formatted: ugly.tf"]


def test_pins_name_one_provider_version() -> None:
    pins = tc.Pins.load()
    assert re.fullmatch(r"6\.\d+\.\d+", pins.provider_version)
    assert pins.provider_module_version.startswith("v")
