"""The `live` alias: the one place a release is recorded.

Lambda has no release object. The alias is what every poller reads (AWS's and the local runner),
so the release keeps its record there too, in the alias' description: `{"previous": "3"}` after
a promotion, `{"canary": "4", "previous": "3", "started": 1764500000}` while one bakes. A rerun
after Ctrl-C reads it back and resumes; `make rollback` knows where to go back to.

Every write is conditional on the alias' RevisionId, so two releases cannot both move it: AWS
answers the loser with PreconditionFailedException (moto ignores RevisionId: envs/README.md).
The alias only ever names versions that PublishVersion returned, so it never points at a
version that does not exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

ALIAS = "live"


class ReleaseConflict(RuntimeError):
    """Someone else moved the alias (or the function's code) since we read it."""


@dataclass(frozen=True)
class AliasState:
    """What the alias routes now, and the release record it carries."""

    function_name: str
    name: str
    stable: str  # FunctionVersion: gets 1 - weight of the batches
    canary: str | None  # the version in AdditionalVersionWeights, if any
    weight: float  # the canary's share, 0..1
    revision_id: str
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def in_flight(self) -> bool:
        return self.canary is not None

    def describe(self) -> str:
        if self.canary is None:
            return f"{self.name} -> version {self.stable} (100 %)"
        return (
            f"{self.name} -> version {self.stable} ({100 * (1 - self.weight):.0f} %) + "
            f"version {self.canary} ({100 * self.weight:.0f} %)"
        )


def _record(description: str | None) -> dict[str, Any]:
    try:
        parsed = json.loads(description or "{}")
    except ValueError:
        return {}  # a description written by a person: not ours, no record
    return parsed if isinstance(parsed, dict) else {}


def read(lambda_client: Any, function_name: str, name: str = ALIAS) -> AliasState:
    try:
        alias = lambda_client.get_alias(FunctionName=function_name, Name=name)
    except ClientError as err:
        if err.response["Error"]["Code"] == "ResourceNotFoundException":
            raise ReleaseConflict(
                f"function {function_name} has no alias {name!r}: apply the stack first"
            ) from err
        raise
    weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    canary, weight = next(iter(weights.items()), (None, 0.0))
    return AliasState(
        function_name=function_name,
        name=name,
        stable=alias["FunctionVersion"],
        canary=canary,
        weight=float(weight),
        revision_id=alias.get("RevisionId", ""),
        record=_record(alias.get("Description")),
    )


def write(
    lambda_client: Any,
    state: AliasState,
    *,
    stable: str,
    canary: str | None = None,
    weight: float = 0.0,
    record: dict[str, Any],
) -> AliasState:
    """Route `weight` of the batches to `canary` and the rest to `stable`, conditionally."""
    weights = {canary: weight} if canary is not None else {}
    condition = {"RevisionId": state.revision_id} if state.revision_id else {}
    try:
        lambda_client.update_alias(
            FunctionName=state.function_name,
            Name=state.name,
            FunctionVersion=stable,
            Description=json.dumps(record, sort_keys=True),
            RoutingConfig={"AdditionalVersionWeights": weights},
            **condition,
        )
    except ClientError as err:
        if err.response["Error"]["Code"] == "PreconditionFailedException":
            raise ReleaseConflict(
                f"alias {state.name} of {state.function_name} changed while this release ran "
                "(another release?): rerun to see its state"
            ) from err
        raise
    return read(lambda_client, state.function_name, state.name)


def code_sha(lambda_client: Any, function_name: str, version: str) -> str:
    configuration = lambda_client.get_function_configuration(
        FunctionName=function_name, Qualifier=version
    )
    return str(configuration["CodeSha256"])


def published_version(lambda_client: Any, function_name: str, sha256_base64: str) -> str | None:
    """The newest published version whose code is `sha256_base64`, if one exists."""
    found: list[int] = []
    for page in lambda_client.get_paginator("list_versions_by_function").paginate(
        FunctionName=function_name
    ):
        found += [
            int(v["Version"])
            for v in page["Versions"]
            if v["Version"] != "$LATEST" and v["CodeSha256"] == sha256_base64
        ]
    return str(max(found)) if found else None
