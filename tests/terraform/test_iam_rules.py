"""The least-privilege rules flag what they exist to catch, and the function's role grants what
its code calls: no less, and nothing the code and the Lambda service never use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.terraform.iam_rules import (
    Call,
    handler_calls,
    uncalled_grants,
    ungranted_calls,
    wildcard_grants,
)


def allow(sid: str, actions: str | list[str], resources: str | list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def test_a_data_action_on_every_resource_is_flagged() -> None:
    policy = {
        "Statement": [
            allow("Users", "dynamodb:PutItem", "*"),
            allow("Eni", "ec2:DescribeSubnets", ["*"]),
        ]
    }
    assert wildcard_grants(policy) == ["Users: dynamodb:PutItem on *"]


def test_wildcard_actions_are_flagged() -> None:
    table = "arn:aws:dynamodb:eu-west-1:123456789012:table/users"
    queue = "arn:aws:sqs:eu-west-1:123456789012:dlq"
    policy = {
        "Statement": [
            allow("Table", ["dynamodb:*", "dynamodb:Put*"], table),
            allow("Queue", "sqs:*", queue),
            allow("Key", "kms:GenerateDataKey*", "arn:aws:kms:eu-west-1:123456789012:key/k"),
        ]
    }
    assert wildcard_grants(policy) == [
        "Table: wildcard action dynamodb:*",
        "Table: wildcard action dynamodb:Put*",
        "Queue: wildcard action sqs:*",
    ]


def test_wildcards_inside_arns_are_flagged() -> None:
    policy = {
        "Statement": [
            allow("AnyQueue", "sqs:SendMessage", "arn:aws:sqs:*:*:*"),
            allow("AnyRegion", "sqs:SendMessage", "arn:aws:sqs:*:123456789012:dlq"),
            allow("EveryTable", "dynamodb:PutItem", "arn:aws:dynamodb:eu-west-1:1:table/*"),
            allow("EveryQueue", "sqs:SendMessage", "arn:aws:sqs:eu-west-1:123456789012:*"),
        ]
    }
    assert wildcard_grants(policy) == [
        "AnyQueue: sqs:SendMessage on arn:aws:sqs:*:*:*",
        "AnyRegion: sqs:SendMessage on arn:aws:sqs:*:123456789012:dlq",
        "EveryTable: dynamodb:PutItem on arn:aws:dynamodb:eu-west-1:1:table/*",
        "EveryQueue: sqs:SendMessage on arn:aws:sqs:eu-west-1:123456789012:*",
    ]


def test_scoped_and_denied_statements_pass() -> None:
    account = "arn:aws:ec2:eu-west-1:123456789012:*/*"
    log_streams = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/registration:*"
    policy = {
        "Statement": [
            allow("Dlq", ["sqs:SendMessage"], "arn:aws:sqs:eu-west-1:123456789012:dlq"),
            allow("Logs", ["logs:PutLogEvents"], log_streams),
            allow("Enis", ["ec2:CreateNetworkInterface"], account),
        ]
    }
    denied = {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    assert wildcard_grants(policy) == [] and wildcard_grants(denied) == []


def test_an_account_wide_arn_is_only_accepted_for_network_interfaces() -> None:
    policy = {"Statement": [allow("Tables", "dynamodb:PutItem", "arn:aws:dynamodb:r:1:*/*")]}
    assert wildcard_grants(policy) == ["Tables: dynamodb:PutItem on arn:aws:dynamodb:r:1:*/*"]


def write_package(root: Path, files: dict[str, str]) -> Path:
    package = root / "handler"
    package.mkdir()
    for name, text in files.items():
        (package / name).write_text(text)
    return package


def test_calls_are_read_through_injected_clients_and_paginators(tmp_path: Path) -> None:
    package = write_package(
        tmp_path,
        {
            "resources.py": (
                "import boto3\n"
                "def aws_client(service):\n"
                "    return boto3.client(service)\n"
                "store = Store(aws_client('dynamodb'))\n"
            ),
            "store.py": (
                "class Store:\n"
                "    def __init__(self, client):\n"
                "        self._client = client\n"
                "    def save(self, item, cursor):\n"
                "        cursor.execute('SELECT 1')\n"
                "        self._client.update_item(Key=item)\n"
                "        return self._client.get_paginator('query')\n"
            ),
        },
    )
    assert handler_calls(package) == [
        Call("dynamodb:Query", "handler/store.py:7"),
        Call("dynamodb:UpdateItem", "handler/store.py:6"),
    ]


def test_only_services_the_code_creates_clients_for_count(tmp_path: Path) -> None:
    package = write_package(
        tmp_path, {"app.py": "import boto3\nboto3.client('sqs').send_message()\nx.put_item()\n"}
    )
    assert handler_calls(package) == [Call("sqs:SendMessage", "handler/app.py:2")]


def test_the_real_handler_calls_each_of_its_stores() -> None:
    actions = {call.action for call in handler_calls()}
    assert {"dynamodb:PutItem", "sqs:SendMessage", "secretsmanager:GetSecretValue"} <= actions
    assert all(call.location.startswith("registration/") for call in handler_calls())


def test_a_call_without_a_grant_and_a_grant_without_a_call_are_reported() -> None:
    calls = [
        Call("dynamodb:PutItem", "registration/dynamodb_store.py:49"),
        Call("sqs:SendMessage", "registration/dead_letter.py:37"),
    ]
    policy = {
        "Statement": [
            allow("WriteUsers", ["dynamodb:PutItem", "dynamodb:GetItem"], "arn:t"),
            allow("Consume", ["sqs:ReceiveMessage", "sqs:DeleteMessage"], "arn:q"),
            allow("Logs", "logs:PutLogEvents", "arn:l"),
        ]
    }
    assert ungranted_calls(policy, calls) == ["sqs:SendMessage (registration/dead_letter.py:37)"]
    assert uncalled_grants(policy, calls) == ["WriteUsers: dynamodb:GetItem"]


def test_a_wildcard_grant_covers_the_calls_it_matches() -> None:
    calls = [Call("dynamodb:PutItem", "a.py:1")]
    policy = {"Statement": [allow("All", "dynamodb:*", "arn:t")]}
    assert ungranted_calls(policy, calls) == [] and uncalled_grants(policy, calls) == []


# The function's role as Terraform plans it, in both profiles. Resources are often unknown until
# apply (the round trip checks the applied document with `wildcard_grants`); actions never are.


def _modules(module: dict[str, Any]) -> list[dict[str, Any]]:
    return [module, *(m for child in module.get("child_modules", []) for m in _modules(child))]


def planned_policy_documents(plan: dict[str, Any], module: str) -> list[dict[str, Any]]:
    """Values of the policy documents of one module: read at plan time (prior state) or at
    apply (resource changes, with every unknown value as None)."""
    documents = [
        rc["change"]["after"] or {}
        for rc in plan.get("resource_changes", [])
        if rc["type"] == "aws_iam_policy_document" and rc.get("module_address", "") == module
    ]
    state_root = plan.get("prior_state", {}).get("values", {}).get("root_module", {})
    for state_module in _modules(state_root):
        if state_module.get("address", "") == module:
            documents += [
                r["values"]
                for r in state_module.get("resources", [])
                if r["type"] == "aws_iam_policy_document"
            ]
    return documents


def registration_role_policy(plan: dict[str, Any]) -> dict[str, Any]:
    """The statements of the policy documents in the module of the registration function."""
    functions = [
        rc
        for rc in plan.get("resource_changes", [])
        if rc["type"] == "aws_lambda_function"
        and str((rc["change"]["after"] or {}).get("handler", "")).startswith("registration.")
    ]
    assert len(functions) == 1, "one function should run the registration handler"
    module = functions[0].get("module_address", "")
    statements = []
    for document in planned_policy_documents(plan, module):
        for statement in document.get("statement") or []:
            actions = statement.get("actions") or []
            if "sts:AssumeRole" in actions:
                continue
            resources = [r for r in statement.get("resources") or [] if r is not None]
            statements.append(
                allow(statement.get("sid") or "?", sorted(actions), resources)
                | {"Effect": statement.get("effect") or "Allow"}
            )
    assert statements, f"no permission statements planned in {module or 'the root module'}"
    return {"Statement": statements}


@pytest.fixture(scope="module", params=["local", "aws"])
def plan(request: pytest.FixtureRequest) -> dict[str, Any]:
    return request.getfixturevalue(f"{request.param}_plan")


@pytest.mark.terraform
def test_the_role_has_no_wildcard_action_or_resource(plan: dict[str, Any]) -> None:
    assert wildcard_grants(registration_role_policy(plan)) == []


@pytest.mark.terraform
def test_the_role_grants_every_call_the_handler_makes(plan: dict[str, Any]) -> None:
    assert ungranted_calls(registration_role_policy(plan), handler_calls()) == []


@pytest.mark.terraform
def test_the_role_grants_nothing_the_code_or_lambda_never_uses(plan: dict[str, Any]) -> None:
    assert uncalled_grants(registration_role_policy(plan), handler_calls()) == []
