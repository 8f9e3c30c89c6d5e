"""The Terraform gate must reject what it is there to reject, using the real tools."""

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


@pytest.mark.parametrize(
    ("name", "text"),
    [("broken.tf", 'variable "x" {\n'), ("envs/broken.tfvars", "instance_class = \n")],
)
def test_fmt_fails_on_a_file_it_cannot_parse(
    tmp_path: Path, terraform: str, env: dict[str, str], name: str, text: str
) -> None:
    (tmp_path / "envs").mkdir()
    (tmp_path / name).write_text(text)

    failures = tf_check.check_fmt(tmp_path, terraform, env)

    assert len(failures) == 1 and failures[0].startswith(f"fmt cannot parse {name} line 1:")


def copy_tree(destination: Path) -> Path:
    """The repository's Terraform (root, modules, profiles) and the gate's configs."""
    destination.mkdir()
    for path in tc.REPO_ROOT.glob("*.tf"):
        shutil.copy2(path, destination)
    for name in (".tflint.hcl", ".checkov.yaml"):
        shutil.copy2(tc.REPO_ROOT / name, destination)
    for name in ("modules", "envs"):
        shutil.copytree(
            tc.REPO_ROOT / name, destination / name, ignore=shutil.ignore_patterns(".terraform*")
        )
    # The root reads the message contract with file() for the ingest API's model.
    schema = Path("lambdas") / "registration" / "contract.schema.json"
    (destination / schema).parent.mkdir(parents=True)
    shutil.copy2(tc.REPO_ROOT / schema, destination / schema)
    return destination


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return copy_tree(tmp_path / "tree")


def test_tflint_passes_the_tree(tree: Path) -> None:
    assert tf_check.check_tflint(tree) == []


def test_tflint_fails_a_profile_with_an_invalid_rds_instance_class(tree: Path) -> None:
    aws = tree / "envs" / "aws.tfvars"
    aws.write_text(aws.read_text() + 'db_instance_class = "db.t9.micro"\n')

    failures = tf_check.check_tflint(tree)

    assert failures, "an instance class RDS does not offer must fail the gate"
    assert all(f.startswith(". (envs/aws.tfvars): ") for f in failures), failures
    assert any("aws_db_instance_invalid_type" in f and "db.t9.micro" in f for f in failures)


def test_tflint_fails_an_invalid_lambda_runtime(tree: Path) -> None:
    (tree / "modules" / "lambda").mkdir()
    (tree / "modules" / "lambda" / "versions.tf").write_text(
        'terraform {\n  required_version = ">= 1.5"\n  required_providers {\n'
        '    aws = { source = "hashicorp/aws", version = ">= 6.0" }\n  }\n}\n'
    )
    (tree / "modules" / "lambda" / "main.tf").write_text(
        'resource "aws_lambda_function" "this" {\n'
        '  function_name = "f"\n  role = "arn:aws:iam::123456789012:role/f"\n'
        '  handler = "app.handler"\n  runtime = "python3.21"\n  filename = "f.zip"\n}\n'
    )

    failures = tf_check.check_tflint(tree)

    assert len(failures) == 1, failures
    assert failures[0].startswith(
        "modules/lambda: modules/lambda/main.tf:5: aws_lambda_function_invalid_runtime:"
    )


def test_checkov_passes_a_module(table_module: Path) -> None:
    shutil.copy2(tc.REPO_ROOT / ".checkov.yaml", table_module)
    assert tf_check.check_checkov(table_module) == []


def test_checkov_fails_on_a_file_it_cannot_parse(table_module: Path) -> None:
    shutil.copy2(tc.REPO_ROOT / ".checkov.yaml", table_module)
    (table_module / "broken.tf").write_text('resource "aws_sqs_queue" "q" {\n')

    failures = tf_check.check_checkov(table_module)

    assert failures == [f"checkov could not parse {table_module / 'broken.tf'}"]


def test_checkov_fails_when_it_scans_nothing(tmp_path: Path) -> None:
    shutil.copy2(tc.REPO_ROOT / ".checkov.yaml", tmp_path)
    (tmp_path / "README.md").write_text("no Terraform here\n")
    assert tf_check.check_checkov(tmp_path) == [
        "checkov scanned no Terraform resources (is --root the repository?)"
    ]


def test_pins_name_one_provider_version() -> None:
    pins = tc.Pins.load()
    assert re.fullmatch(r"6\.\d+\.\d+", pins.provider_version)
    assert pins.provider_module_version.startswith("v")
