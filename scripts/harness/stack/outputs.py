"""The deployed stack's names (docs/CONTRACTS.md "Terraform root outputs"), wherever they come from.

The commands find the queue, table, secret and function through the Terraform outputs, so they
work unchanged against the local and the aws profile. Tests and people without Terraform state
can hand the same names over as a JSON file (`--outputs FILE`, in `terraform output -json` shape
or flat), which is also what lets the runner and verify be tested before any Terraform exists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from scripts.harness.cli import UserError


@dataclass(frozen=True)
class StackOutputs:
    """The root outputs every command relies on; names match the Terraform outputs exactly."""

    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    table_name: str
    db_host: str
    db_port: int
    db_name: str
    db_secret_arn: str
    function_name: str
    log_group_name: str
    event_source_mapping_uuid: str

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> StackOutputs:
        """Accept `terraform output -json` ({name: {"value": v}}) or a flat {name: v}."""
        values = {
            k: v["value"] if isinstance(v, dict) and "value" in v else v for k, v in raw.items()
        }
        missing = [f.name for f in fields(cls) if values.get(f.name) in (None, "")]
        if missing:
            raise UserError(f"stack outputs lack {', '.join(missing)}: is the stack applied?")
        kwargs = {f.name: values[f.name] for f in fields(cls)}
        kwargs["db_port"] = int(kwargs["db_port"])
        return cls(**kwargs)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def load(profile: str, outputs_file: Path | None = None) -> StackOutputs:
    """Outputs from `outputs_file` if given, else from the Terraform state of `profile`."""
    return StackOutputs.from_mapping(load_raw(profile, outputs_file))


def load_raw(profile: str, outputs_file: Path | None = None) -> dict[str, Any]:
    """Every root output as a flat {name: value}: also the optional systems' names."""
    if outputs_file is not None:
        try:
            raw = json.loads(outputs_file.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise UserError(f"cannot read outputs file {outputs_file}: {err}") from err
    else:
        raw = _terraform_outputs(profile)
    return {k: v["value"] if isinstance(v, dict) and "value" in v else v for k, v in raw.items()}


def _terraform_outputs(profile: str) -> Mapping[str, Any]:
    """The root outputs of `profile` through scripts/harness/stack/terraform.py."""
    try:
        from scripts.harness.stack import terraform  # noqa: PLC0415 (optional until the stack exists)
    except ImportError as err:
        raise UserError(
            "no Terraform harness (scripts/harness/stack/terraform.py): pass --outputs FILE"
        ) from err
    return terraform.outputs(profile)
