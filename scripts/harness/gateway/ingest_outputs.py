"""The ingest API's root outputs (ingest_api_id, ingest_stage_name, ingest_url, ingest_api_key_id).

They are optional in the stack (docs/CONTRACTS.md's required outputs do not change), so they are
read here rather than in stack.outputs: from `--outputs FILE` or from the Terraform state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.harness.cli import UserError


@dataclass(frozen=True)
class IngestOutputs:
    api_id: str
    stage: str
    url: str  # the AWS invoke URL of the POST resource
    api_key_id: str | None  # null unless ingest_auth = "api_key"


def load(profile: str, outputs_file: Path | None = None) -> IngestOutputs:
    if outputs_file is not None:
        try:
            raw: dict[str, Any] = json.loads(outputs_file.read_text())
        except (OSError, ValueError) as err:
            raise UserError(f"cannot read outputs file {outputs_file}: {err}") from err
    else:
        from scripts.harness.stack import terraform  # noqa: PLC0415 (needs the toolchain)

        raw = terraform.outputs(profile)
    values = {k: v["value"] if isinstance(v, dict) and "value" in v else v for k, v in raw.items()}
    missing = [n for n in ("ingest_api_id", "ingest_stage_name", "ingest_url") if not values.get(n)]
    if missing:
        raise UserError(f"stack outputs lack {', '.join(missing)}: is the ingest API applied?")
    return IngestOutputs(
        api_id=values["ingest_api_id"],
        stage=values["ingest_stage_name"],
        url=values["ingest_url"],
        api_key_id=values.get("ingest_api_key_id") or None,
    )
