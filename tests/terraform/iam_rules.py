"""Least-privilege rules for the function's role, and the AWS calls its code makes.

A policy is checked two ways: by its own shape (no wildcard action, no wildcard resource that
could have been scoped), and against the code (every action granted is one the handler calls or
one the Lambda service needs on its behalf; every call the handler makes is granted). The calls
are read from the handler's source with `ast` and named by botocore's service models, so a new
`client.<method>(...)` shows up here without anyone keeping a list.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
from botocore import xform_name

HANDLER_SOURCE = Path(__file__).resolve().parents[2] / "lambdas" / "registration"

# Actions AWS offers no resource-level permission for: "*" is the only possible resource.
UNSCOPABLE_ACTIONS = frozenset(
    {
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
)

# Lambda creates and deletes the function's network interfaces, whose ids nobody knows in
# advance: these may name every resource of one account and region, never of any account.
ACCOUNT_WIDE_ACTIONS = frozenset(
    {
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    }
)

# Wildcard actions that are the documented way to grant a family of calls a service makes.
ACCEPTED_WILDCARD_ACTIONS = frozenset(
    {
        # DynamoDB and SQS ask KMS for a data key of whichever GenerateDataKey variant they need.
        "kms:GenerateDataKey*",
    }
)

# Granted for the Lambda service or for another service acting on the function's behalf, so the
# handler's code never calls them itself.
PLATFORM_ACTIONS = frozenset(
    {
        # Lambda writes the function's logs.
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        # Lambda attaches the function to its subnets.
        *ACCOUNT_WIDE_ACTIONS,
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        # Lambda sends the function's traces when tracing is active.
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        # The SQS event source mapping polls, deletes and sizes up the queue.
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
        # SQS, DynamoDB and Secrets Manager use a customer managed key in the caller's name.
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:DescribeKey",
        "kms:GenerateDataKey",
        "kms:GenerateDataKey*",
    }
)


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def as_list_of_statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def allowed_statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in as_list_of_statements(policy) if s.get("Effect") == "Allow"]


def is_wildcard_resource(resource: str, action: str) -> bool:
    """True when `resource` names more than `action` needs (judged per action)."""
    if resource == "*":
        return action not in UNSCOPABLE_ACTIONS
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return False  # not an ARN (e.g. an unknown value rendered by the plan): nothing to judge
    _, partition, service, region, account, name = parts
    if "*" in (partition, service, region, account):
        return True
    # "*", "*/*", "table/*": every resource (of a type) in the account.
    if set(name.split("/", 1)[-1]) <= set("*/:"):
        return action not in ACCOUNT_WIDE_ACTIONS and action not in UNSCOPABLE_ACTIONS
    return False


def wildcard_grants(policy: dict[str, Any]) -> list[str]:
    """``sid: what`` for every allowed wildcard action and every resource that could be scoped."""
    grants = []
    for statement in allowed_statements(policy):
        sid = statement.get("Sid", "?")
        actions = as_list(statement.get("Action", []))
        for action in actions:
            if "*" in action and action not in ACCEPTED_WILDCARD_ACTIONS:
                grants.append(f"{sid}: wildcard action {action}")
        for resource in as_list(statement.get("Resource", [])):
            for action in actions:
                if is_wildcard_resource(resource, action):
                    grants.append(f"{sid}: {action} on {resource}")
    return grants


@dataclass(frozen=True, order=True)
class Call:
    """One AWS API call in the handler's source: the IAM action and where it is made."""

    action: str
    location: str


@functools.cache
def _service_operations(service: str) -> tuple[str, dict[str, str]]:
    """(IAM prefix, {python method name: API operation name}) of a botocore service."""
    model = botocore.session.get_session().get_service_model(service)
    prefix = model.signing_name or model.endpoint_prefix
    return prefix, {xform_name(name): name for name in model.operation_names}


def _callee_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _client_services(trees: Iterable[ast.AST]) -> set[str]:
    """Service names passed as a string to any `*client(...)` call (boto3.client, wrappers)."""
    known = set(botocore.session.get_session().get_available_services())
    services = set()
    for tree in trees:
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and _callee_name(node).endswith("client")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in known
            ):
                services.add(node.args[0].value)
    return services


def handler_calls(source: Path = HANDLER_SOURCE) -> list[Call]:
    """Every AWS API call the code under `source` makes.

    Clients are handed around (a store gets its client in `__init__`), so a call is recognised
    by its method name: any `<expr>.<method>(...)` whose method is an operation of a service
    the code creates a client for.
    """
    files = sorted(source.rglob("*.py"))
    trees = {path: ast.parse(path.read_text(), filename=str(path)) for path in files}
    operations: dict[str, list[str]] = {}
    for service in sorted(_client_services(trees.values())):
        prefix, methods = _service_operations(service)
        for method, operation in methods.items():
            action = f"{prefix}:{operation}"
            operations.setdefault(method, []).append(BATCH_ACTIONS.get(action, action))
    calls = set()
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            method = node.func.attr
            if method in ("get_paginator", "get_waiter") and node.args:
                method = getattr(node.args[0], "value", "")
            location = f"{path.relative_to(source.parent)}:{node.lineno}"
            calls.update(Call(action, location) for action in operations.get(str(method), []))
    return sorted(calls)


# SQS authorizes its batch calls with the single-message actions (no IAM action of their own).
BATCH_ACTIONS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}


def _granted(action: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns)


def ungranted_calls(policy: dict[str, Any], calls: Iterable[Call]) -> list[str]:
    """``action (where)`` for each call no Allow statement grants."""
    patterns = [a for s in allowed_statements(policy) for a in as_list(s.get("Action", []))]
    return [f"{c.action} ({c.location})" for c in calls if not _granted(c.action, patterns)]


def uncalled_grants(policy: dict[str, Any], calls: Iterable[Call]) -> list[str]:
    """``sid: action`` for each allowed action neither the code nor the platform uses."""
    used = {call.action for call in calls} | PLATFORM_ACTIONS
    return [
        f"{statement.get('Sid', '?')}: {action}"
        for statement in allowed_statements(policy)
        for action in as_list(statement.get("Action", []))
        if action not in used and not any(fnmatch.fnmatchcase(u, action) for u in used)
    ]
