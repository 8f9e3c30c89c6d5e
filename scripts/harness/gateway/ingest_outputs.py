"""The ingest API's root outputs (ingest_api_id, ingest_stage_name, ingest_url, ingest_api_key_id).

They are optional in the stack (docs/CONTRACTS.md's required outputs do not change), so they are
checked here rather than in stack.outputs.StackOutputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scripts.harness.cli import UserError
from scripts.harness.stack import outputs


@dataclass(frozen=True)
class IngestOutputs:
    api_id: str
    stage: str
    url: str  # the AWS invoke URL of the POST resource
    api_key_id: str | None  # null unless ingest_auth = "api_key"


def load(profile: str, outputs_file: Path | None = None) -> IngestOutputs:
    values = outputs.load_raw(profile, outputs_file)
    missing = [n for n in ("ingest_api_id", "ingest_stage_name", "ingest_url") if not values.get(n)]
    if missing:
        raise UserError(f"stack outputs lack {', '.join(missing)}: is the ingest API applied?")
    return IngestOutputs(
        api_id=values["ingest_api_id"],
        stage=values["ingest_stage_name"],
        url=values["ingest_url"],
        api_key_id=values.get("ingest_api_key_id") or None,
    )
