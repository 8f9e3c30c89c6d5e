"""`moto.server` with the fixes this repository needs for AWS fidelity, applied before it starts.

Run as a script (``python moto_launcher.py -H HOST -p PORT``, the arguments of ``moto.server``);
it imports nothing of this repository, so it works from any working directory.

- An event source mapping created on (or moved to) an alias keeps the alias ARN as its
  FunctionArn, as AWS does. moto 5.2.5 stores the version the alias points at instead, so
  Terraform would plan the mapping's ``function_name`` again on every run and the local runner
  would read a fixed version instead of resolving the alias' weights per batch.
"""

from __future__ import annotations

import sys
from typing import Any

from moto.awslambda import models
from moto.awslambda.utils import make_function_arn
from moto.server import main as moto_main

LATEST = "$LATEST"


def alias_arn(backend: models.LambdaBackend, function_name: str) -> str | None:
    """The alias ARN a FunctionName parameter names; None for a function, version or $LATEST."""
    if function_name.startswith("arn:"):
        parts = function_name.split(":")
        qualifier = parts[7] if len(parts) == 8 else ""
        arn = function_name
    else:
        name, _, qualifier = function_name.partition(":")
        arn = f"{make_function_arn(backend.region_name, backend.account_id, name)}:{qualifier}"
    if not qualifier or qualifier == LATEST or qualifier.isdigit():
        return None
    return arn


def keep_alias_arns() -> None:
    """Make create/update_event_source_mapping remember the alias they were given."""
    create = models.LambdaBackend.create_event_source_mapping
    update = models.LambdaBackend.update_event_source_mapping

    def create_event_source_mapping(
        self: models.LambdaBackend, spec: dict[str, Any]
    ) -> models.EventSourceMapping:
        requested = str(spec.get("FunctionName", ""))
        mapping = create(self, spec)
        mapping.function_arn = alias_arn(self, requested) or mapping.function_arn
        return mapping

    def update_event_source_mapping(
        self: models.LambdaBackend, uuid: str, spec: dict[str, Any]
    ) -> models.EventSourceMapping | None:
        mapping = update(self, uuid, spec)
        if mapping is not None and "FunctionName" in spec:
            mapping.function_arn = alias_arn(self, str(spec["FunctionName"])) or (
                mapping.function_arn
            )
        return mapping

    models.LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]
    models.LambdaBackend.update_event_source_mapping = update_event_source_mapping  # type: ignore[method-assign]


if __name__ == "__main__":
    keep_alias_arns()
    moto_main(sys.argv[1:])
