"""Least-privilege rules checked against an applied role policy (the plan only knows its ARNs
after apply, so the document itself is read back from IAM)."""

from __future__ import annotations

from typing import Any

# Actions AWS offers no resource-level permission for: "*" is the only possible resource.
UNSCOPABLE_ACTIONS = frozenset(
    {
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
)


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def as_list_of_statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def wildcard_grants(policy: dict[str, Any]) -> list[str]:
    """``sid: action`` for every allowed action on ``*`` that could have been scoped."""
    grants = []
    for statement in as_list_of_statements(policy):
        if statement.get("Effect") != "Allow" or "*" not in as_list(statement.get("Resource", [])):
            continue
        for action in as_list(statement.get("Action", [])):
            if action not in UNSCOPABLE_ACTIONS:
                grants.append(f"{statement.get('Sid', '?')}: {action}")
    return grants
