"""The deployed function and its SQS mapping, as read back from the Lambda API.

The local runner must run what Terraform deployed, not what someone thinks was deployed: the
handler, environment, timeout and memory come from GetFunction, the batching and concurrency
from ListEventSourceMappings, and the code is trusted only if its CodeSha256 is the built zip's.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.harness.cli import UserError

# Lambda's SQS limits: one ReceiveMessage returns at most 10; batches above 10 need a window.
SQS_RECEIVE_MAX = 10


@dataclass(frozen=True)
class FunctionConfig:
    """What an execution environment needs to run the function as deployed."""

    name: str
    arn: str
    handler: str
    runtime: str
    timeout_s: int
    memory_mb: int
    environment: Mapping[str, str]
    code_sha256: str
    version: str = "$LATEST"
    reserved_concurrency: int | None = None

    @classmethod
    def from_api(cls, response: Mapping[str, Any]) -> FunctionConfig:
        """Build from a GetFunction response."""
        config = response["Configuration"]
        reserved = response.get("Concurrency", {}).get("ReservedConcurrentExecutions")
        return cls(
            name=config["FunctionName"],
            arn=config["FunctionArn"],
            handler=config["Handler"],
            runtime=config.get("Runtime", ""),
            timeout_s=int(config.get("Timeout", 3)),
            memory_mb=int(config.get("MemorySize", 128)),
            environment=dict(config.get("Environment", {}).get("Variables", {})),
            code_sha256=config["CodeSha256"],
            version=config.get("Version", "$LATEST"),
            reserved_concurrency=reserved,
        )


@dataclass(frozen=True)
class MappingConfig:
    """The SQS event source mapping's polling and response settings."""

    uuid: str
    event_source_arn: str
    batch_size: int
    batching_window_s: int
    response_types: tuple[str, ...]
    maximum_concurrency: int | None
    state: str
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def receive_max(self) -> int:
        """MaxNumberOfMessages for one ReceiveMessage call."""
        return min(SQS_RECEIVE_MAX, self.batch_size)

    @classmethod
    def from_api(cls, mapping: Mapping[str, Any]) -> MappingConfig:
        """Build from one ListEventSourceMappings entry."""
        return cls(
            uuid=mapping["UUID"],
            event_source_arn=mapping["EventSourceArn"],
            batch_size=int(mapping.get("BatchSize", 10)),
            batching_window_s=int(mapping.get("MaximumBatchingWindowInSeconds") or 0),
            response_types=tuple(mapping.get("FunctionResponseTypes") or ()),
            maximum_concurrency=(mapping.get("ScalingConfig") or {}).get("MaximumConcurrency"),
            state=mapping.get("State", ""),
            extras={k: mapping[k] for k in ("FilterCriteria",) if mapping.get(k)},
        )


def zip_sha256(path: Path) -> str:
    """CodeSha256 as Lambda reports it: base64 of the SHA-256 of the deployment package."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def read_function(lambda_client: Any, function_name: str) -> FunctionConfig:
    """GetFunction, as a FunctionConfig."""
    return FunctionConfig.from_api(lambda_client.get_function(FunctionName=function_name))


def read_mapping(
    lambda_client: Any, function_name: str, queue_arn: str, uuid: str | None = None
) -> MappingConfig:
    """The mapping with `uuid` (the Terraform output), else the one from `queue_arn` to
    `function_name`; either way it must connect that queue to that function."""
    if uuid is not None:
        try:
            candidates = [lambda_client.get_event_source_mapping(UUID=uuid)]
        except lambda_client.exceptions.ResourceNotFoundException:
            candidates = []
    else:
        paginator = lambda_client.get_paginator("list_event_source_mappings")
        candidates = [
            entry
            for page in paginator.paginate(FunctionName=function_name, EventSourceArn=queue_arn)
            for entry in page["EventSourceMappings"]
        ]
    candidates = [
        entry
        for entry in candidates
        if entry["EventSourceArn"] == queue_arn
        and entry["FunctionArn"].split(":")[6] == function_name.rsplit(":", 1)[-1]
    ]
    if len(candidates) != 1:
        raise UserError(
            f"expected one event source mapping from {queue_arn} to {function_name}"
            f"{f' with UUID {uuid}' if uuid else ''}, found {len(candidates)}"
        )
    return MappingConfig.from_api(candidates[0])


def check_code(function: FunctionConfig, zip_path: Path) -> None:
    """Refuse to run a zip that is not the deployed code."""
    if not zip_path.is_file():
        raise UserError(f"{zip_path} does not exist: run `make package`")
    built = zip_sha256(zip_path)
    if built != function.code_sha256:
        raise UserError(
            f"{function.name} runs code {function.code_sha256} but {zip_path} is {built}: "
            "deploy the zip you built (`make local-up`) or rebuild the one you deployed"
        )
