"""Which code a mapping runs: its function ARN resolved to versions, weights and built zips.

A mapping may name the function (`$LATEST`), a version (`function:name:7`) or an alias
(`function:name:live`). Lambda resolves an alias on every invoke, and when the alias has a
RoutingConfig it sends each invoke (for a mapping: each batch) to the primary version or to an
additional version by weight. The context then carries the alias ARN and the executed version,
and the log stream the version (`YYYY/MM/DD/[7]...`).

Each version's code is found by its CodeSha256 among the built zips, `dist/code/<hex>.zip`
(`make package` keeps one per build), falling back to `dist/registration.zip` when that is the
one; code without a matching zip is refused, never run from the wrong bytes.
"""

from __future__ import annotations

import base64
import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.harness.cli import UserError
from scripts.harness.lambda_local import config
from scripts.harness.lambda_local.config import FunctionConfig

LATEST = "$LATEST"
FALLBACK_ZIP = "registration.zip"


@dataclass(frozen=True)
class Target:
    """What a mapping invokes: one or more versions with their routing weights."""

    invoked_arn: str  # the ARN the mapping names (alias ARN for an alias)
    resource: str  # CloudWatch's Resource dimension: name, name:alias or name:version
    versions: tuple[FunctionConfig, ...]
    weights: tuple[float, ...]

    def pick(self, rng: random.Random) -> FunctionConfig:
        """The version for one batch, drawn by weight (Lambda's weighted alias routing)."""
        if len(self.versions) == 1:
            return self.versions[0]
        return rng.choices(self.versions, weights=self.weights)[0]

    def routing(self) -> dict[str, float]:
        """{version: weight}, for status output."""
        return {f.version: w for f, w in zip(self.versions, self.weights, strict=True)}

    @property
    def function(self) -> FunctionConfig:
        """The primary version (the only one without routing)."""
        return self.versions[0]


def split_arn(function_arn: str) -> tuple[str, str | None]:
    """(name, qualifier or None) of arn:aws:lambda:<region>:<account>:function:<name>[:<q>]."""
    parts = function_arn.split(":")
    return parts[6], (parts[7] if len(parts) > 7 else None)


def resolve(lambda_client: Any, function_arn: str) -> Target:
    """Read the versions a mapping's FunctionArn runs, with their weights."""
    name, qualifier = split_arn(function_arn)
    if qualifier is None or qualifier == LATEST or qualifier.isdigit():
        function = config.read_function(lambda_client, name, qualifier)
        resource = name if qualifier is None else f"{name}:{qualifier}"
        return Target(function_arn, resource, (_invoked_as(function, function_arn),), (1.0,))
    alias = lambda_client.get_alias(FunctionName=name, Name=qualifier)
    additional = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    primary_weight = 1.0 - sum(additional.values())
    routed = [(alias["FunctionVersion"], primary_weight), *additional.items()]
    versions = tuple(
        _invoked_as(config.read_function(lambda_client, name, version), function_arn)
        for version, _ in routed
    )
    return Target(
        function_arn, f"{name}:{qualifier}", versions, tuple(weight for _, weight in routed)
    )


def _invoked_as(function: FunctionConfig, invoked_arn: str) -> FunctionConfig:
    """The version's configuration, with the ARN the context must carry (alias or version)."""
    return dataclasses.replace(function, arn=invoked_arn)


def code_zip(function: FunctionConfig, dist_dir: Path) -> Path:
    """The built zip whose sha256 is the version's CodeSha256, or a one-line refusal."""
    hex_digest = base64.b64decode(function.code_sha256).hex()
    candidates: Sequence[Path] = (dist_dir / "code" / f"{hex_digest}.zip", dist_dir / FALLBACK_ZIP)
    for path in candidates:
        if path.is_file() and config.zip_sha256(path) == function.code_sha256:
            return path
    raise UserError(
        f"{function.name} version {function.version} runs code {function.code_sha256} and no "
        f"built zip has it (looked for {candidates[0]}, {candidates[1]}): deploy what you built "
        "(`make local-up`) or build what is deployed (`make package`)"
    )
