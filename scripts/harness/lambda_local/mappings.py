"""Every event source mapping of the deployed stack, each matched to a local poller or refused.

The runner reads the mappings from the endpoint (ListEventSourceMappings), never from
Terraform outputs or known names, so a new system's queue is polled as soon as it is deployed.
Each mapping's source type (the service of its EventSourceArn) picks the module that polls it
from `SOURCES`; a new type (DynamoDB streams next) is one module implementing
`event_source.EventSource` plus one line here. What the runner cannot emulate faithfully it
refuses with one line before anything runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from scripts.harness.cli import UserError
from scripts.harness.lambda_local import aliases, config, sqs_poller, stream_poller
from scripts.harness.lambda_local.aliases import Target
from scripts.harness.lambda_local.config import MappingConfig
from scripts.harness.lambda_local.event_source import EventSourceFactory

SOURCES: dict[str, EventSourceFactory] = {
    "sqs": sqs_poller.SqsEventSource,
    "dynamodb": stream_poller.DynamoDBStreamSource,
}
# moto invokes every DynamoDB stream mapping itself, through Docker, on each table write, even a
# disabled one; so the local profile creates none and publishes the mapping it would have
# created, in ListEventSourceMappings' shape, as an SSM parameter under this path.
PUBLISHED_PATH = "/lambda-local/event-source-mappings/"


@dataclass(frozen=True)
class Plan:
    """One mapping and the function versions it invokes."""

    mapping: MappingConfig
    target: Target


def refusal(mapping: MappingConfig, target: Target | None = None) -> str | None:
    """Why the runner must not run this mapping, or None."""
    where = f"mapping {mapping.uuid} ({mapping.event_source_arn})"
    if mapping.enabled:
        return (
            f"{where} is {mapping.state}: moto would consume the source itself (and "
            "dead-letter everything); the local profile must deploy mappings disabled"
        )
    if mapping.source_type not in SOURCES:
        return (
            f"{where}: no local poller for {mapping.source_type} event sources "
            f"(the runner knows {', '.join(sorted(SOURCES))})"
        )
    for function in target.versions if target else ():
        if function.reserved_concurrency == 0:
            return (
                f"{where}: {function.name} has reserved concurrency 0, so AWS throttles every "
                "invoke and nothing would be processed"
            )
    return None


def published(ssm_client: Any) -> list[MappingConfig]:
    """The mappings the local profile publishes instead of creating (see PUBLISHED_PATH)."""
    found = []
    paginator = ssm_client.get_paginator("get_parameters_by_path")
    for page in paginator.paginate(Path=PUBLISHED_PATH, Recursive=True):
        for parameter in page["Parameters"]:
            try:
                found.append(MappingConfig.from_api(json.loads(parameter["Value"])))
            except (ValueError, KeyError) as err:
                raise UserError(
                    f"SSM parameter {parameter['Name']} is not a mapping: {err}"
                ) from err
    return found


def discover(lambda_client: Any, ssm_client: Any | None = None) -> list[Plan]:
    """Every mapping on the endpoint (and published by the local profile) with its resolved
    target; one line for the first refusal."""
    found = config.list_mappings(lambda_client)
    if ssm_client is not None:
        found += published(ssm_client)
    if not found:
        raise UserError("no event source mappings on the endpoint: deploy the stack first")
    plans = []
    for mapping in found:
        problem = refusal(mapping)
        target = None if problem else aliases.resolve(lambda_client, mapping.function_arn)
        problem = problem or refusal(mapping, target)
        if problem or target is None:
            raise UserError(problem)
        plans.append(Plan(mapping, target))
    return plans
