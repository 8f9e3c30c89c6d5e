"""`python -m moto.server`, with two fixes to moto 5.2.5 that the local stack depends on.

Run by file path (see moto_server.py), so it imports nothing from this repository.

1. Receive cost. `SQSBackend.receive_message` checks every message it hands out against the
   queue's retention period by calling `get_queue_attributes`, which builds *all* attributes,
   ApproximateNumberOfMessages* included: three scans of the whole queue per received message.
   Under the local runner that was 77 % of the server's time and made a drain quadratic in the
   backlog (bench/README.md, "local runner drain"). The fix reads the one attribute it needs.
2. Aliases in event source mappings. moto stores the alias's current *version* as a mapping's
   FunctionArn when the mapping names an alias; AWS keeps the alias ARN, and the local runner
   needs it to route batches by the alias's RoutingConfig weights.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# Run as a script, this file's directory is sys.path[0]; nothing there may shadow moto's imports.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from moto.awslambda.models import LambdaBackend
from moto.core.utils import unix_time
from moto.server import main
from moto.sqs.models import Message, SQSBackend


def _retained(self: SQSBackend, queue_name: str, message: Message) -> bool:
    retention_s = int(self.get_queue(queue_name).message_retention_period)
    return bool(message.sent_timestamp / 1000 + retention_s > unix_time())  # type: ignore[operator]


def _alias_of(function_name: str) -> str | None:
    """The alias a FunctionName (name, name:qualifier, or ARN) names, if it names one."""
    parts = function_name.split(":")
    qualifier = parts[7] if function_name.startswith("arn:") and len(parts) > 7 else None
    if not function_name.startswith("arn:") and len(parts) == 2:
        qualifier = parts[1]
    if qualifier is None or qualifier.isdigit() or qualifier == "$LATEST":
        return None
    return qualifier


def _keep_alias(esm: Any, function_name: str) -> None:
    alias = _alias_of(function_name)
    if esm is not None and alias is not None:
        unqualified = ":".join(esm.function_arn.split(":")[:7])
        esm.function_arn = f"{unqualified}:{alias}"


_create_mapping = LambdaBackend.create_event_source_mapping
_update_mapping = LambdaBackend.update_event_source_mapping


def _create_event_source_mapping(self: LambdaBackend, spec: dict[str, Any]) -> Any:
    function_name = spec.get("FunctionName", "")
    esm = _create_mapping(self, spec)
    _keep_alias(esm, function_name)
    return esm


def _update_event_source_mapping(self: LambdaBackend, uuid: str, spec: dict[str, Any]) -> Any:
    esm = _update_mapping(self, uuid, spec)
    _keep_alias(esm, spec.get("FunctionName", ""))
    return esm


SQSBackend.is_message_valid_based_on_retention_period = _retained  # type: ignore[method-assign]
LambdaBackend.create_event_source_mapping = _create_event_source_mapping  # type: ignore[method-assign]
LambdaBackend.update_event_source_mapping = _update_event_source_mapping  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
