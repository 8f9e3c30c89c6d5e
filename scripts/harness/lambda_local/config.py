"""The deployed functions and their event source mappings, as read back from the Lambda API.

The local runner must run what Terraform deployed, not what someone thinks was deployed: the
handler, environment, timeout and memory come from GetFunction (of the version a mapping runs),
every mapping and its settings from ListEventSourceMappings, and code is trusted only if its
CodeSha256 is a built zip's (see aliases.py).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    log_group: str = ""
    log_format: str = "Text"  # LoggingConfig: Text or JSON
    application_log_level: str | None = None  # LoggingConfig, JSON format only

    @property
    def log_group_name(self) -> str:
        """Where Lambda writes: LoggingConfig.LogGroup, by default /aws/lambda/<name>."""
        return self.log_group or f"/aws/lambda/{self.name}"

    @classmethod
    def from_api(cls, response: Mapping[str, Any]) -> FunctionConfig:
        """Build from a GetFunction response."""
        config = response["Configuration"]
        reserved = response.get("Concurrency", {}).get("ReservedConcurrentExecutions")
        logging = config.get("LoggingConfig") or {}
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
            log_group=logging.get("LogGroup", ""),
            log_format=logging.get("LogFormat", "Text"),
            application_log_level=logging.get("ApplicationLogLevel"),
        )


@dataclass(frozen=True)
class MappingConfig:
    """One event source mapping: what it polls, for which function, and every setting the
    pollers apply (the stream-only ones are None for SQS)."""

    uuid: str
    event_source_arn: str
    batch_size: int
    batching_window_s: int
    response_types: tuple[str, ...]
    maximum_concurrency: int | None
    state: str
    function_arn: str = ""
    filter_criteria: Mapping[str, Any] | None = None
    starting_position: str | None = None
    bisect_on_error: bool | None = None
    maximum_retry_attempts: int | None = None
    maximum_record_age_s: int | None = None
    on_failure_destination: str | None = None
    parallelization_factor: int | None = None
    tumbling_window_s: int | None = None

    @property
    def receive_max(self) -> int:
        """MaxNumberOfMessages for one ReceiveMessage call."""
        return min(SQS_RECEIVE_MAX, self.batch_size)

    @property
    def source_type(self) -> str:
        """The service of the event source ARN: `sqs`, `dynamodb` (streams), `kinesis`, ..."""
        return self.event_source_arn.split(":")[2]

    @property
    def enabled(self) -> bool:
        return self.state.lower() in ("enabled", "enabling", "updating", "creating")

    @classmethod
    def from_api(cls, mapping: Mapping[str, Any]) -> MappingConfig:
        """Build from one ListEventSourceMappings entry."""
        on_failure = ((mapping.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
            "Destination"
        )
        return cls(
            uuid=mapping["UUID"],
            event_source_arn=mapping["EventSourceArn"],
            batch_size=int(mapping.get("BatchSize", 10)),
            batching_window_s=int(mapping.get("MaximumBatchingWindowInSeconds") or 0),
            response_types=tuple(mapping.get("FunctionResponseTypes") or ()),
            maximum_concurrency=(mapping.get("ScalingConfig") or {}).get("MaximumConcurrency"),
            state=mapping.get("State", ""),
            function_arn=mapping.get("FunctionArn", ""),
            filter_criteria=mapping.get("FilterCriteria") or None,
            starting_position=mapping.get("StartingPosition"),
            bisect_on_error=mapping.get("BisectBatchOnFunctionError"),
            maximum_retry_attempts=mapping.get("MaximumRetryAttempts"),
            maximum_record_age_s=mapping.get("MaximumRecordAgeInSeconds"),
            on_failure_destination=on_failure,
            parallelization_factor=mapping.get("ParallelizationFactor"),
            tumbling_window_s=mapping.get("TumblingWindowInSeconds") or None,
        )


def list_mappings(lambda_client: Any) -> list[MappingConfig]:
    """Every event source mapping on the endpoint (all functions, all sources)."""
    paginator = lambda_client.get_paginator("list_event_source_mappings")
    return [
        MappingConfig.from_api(entry)
        for page in paginator.paginate()
        for entry in page["EventSourceMappings"]
    ]


def zip_sha256(path: Path) -> str:
    """CodeSha256 as Lambda reports it: base64 of the SHA-256 of the deployment package."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def read_function(
    lambda_client: Any, function_name: str, qualifier: str | None = None
) -> FunctionConfig:
    """GetFunction (of one version or alias when `qualifier` is given), as a FunctionConfig."""
    arguments = {"FunctionName": function_name}
    if qualifier is not None:
        arguments["Qualifier"] = qualifier
    response = lambda_client.get_function(**arguments)
    if "Concurrency" not in response:
        # moto leaves reserved concurrency out of GetFunction; AWS includes it when set.
        concurrency = lambda_client.get_function_concurrency(FunctionName=function_name)
        response = {**response, "Concurrency": concurrency}
    return FunctionConfig.from_api(response)
