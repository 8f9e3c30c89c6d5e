"""The local profile against moto: apply, re-plan without changes, inspect, destroy."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from scripts.harness.stack import aws_session, moto_server
from scripts.harness.stack import terraform as tf
from tests.terraform.conftest import Stack
from tests.terraform.iam_rules import wildcard_grants
from tests.terraform.test_plan_contract import CONTRACT_ENVIRONMENT, CONTRACT_OUTPUTS, SECRET_NAME

pytestmark = pytest.mark.terraform


def pending_changes(ws: tf.Workspace, plan_file: Path) -> list[str]:
    """Addresses and actions of a plan's non-no-op changes (diagnostics for a dirty re-plan)."""
    tf.plan(ws, out=plan_file)
    plan = tf.show_plan(ws, plan_file)
    changes = []
    for rc in plan.get("resource_changes", []):
        actions = rc["change"]["actions"]
        if actions not in (["no-op"], ["read"]):
            before, after = rc["change"].get("before") or {}, rc["change"].get("after") or {}
            differing = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            changes.append(f"{rc['address']} {actions} {differing}")
    return changes


def test_local_profile_round_trip(
    stack: Stack,
    moto: moto_server.MotoServer,
    tmp_path: Path,
    record_property: Any,
) -> None:
    ws = stack.workspace("local", name="round-trip")
    session = aws_session.session(aws_session.local_target(moto.endpoint_url))
    timings: dict[str, float] = {}

    started = time.monotonic()
    tf.apply(ws, auto_approve=True, stream=False)
    timings["apply"] = time.monotonic() - started
    try:
        outputs = {name: item["value"] for name, item in tf.output(ws).items()}
        assert set(outputs) == CONTRACT_OUTPUTS

        started = time.monotonic()
        has_changes = tf.plan(ws)
        timings["plan"] = time.monotonic() - started
        if has_changes:
            pytest.fail(f"re-plan is not clean: {pending_changes(ws, tmp_path / 'replan')}")

        # The RDS-managed secret exists in moto and is readable; its value is nowhere in state.
        secrets = session.client("secretsmanager")
        secret = json.loads(
            secrets.get_secret_value(SecretId=outputs["db_secret_arn"])["SecretString"]
        )
        assert {"username", "password"} <= set(secret)
        state_text = ws.state_path.read_text()
        assert secret["password"] not in state_text
        assert secret["password"] not in json.dumps(outputs)

        lambda_client = session.client("lambda")
        config = lambda_client.get_function_configuration(FunctionName=outputs["function_name"])
        subnet_ids = config["VpcConfig"]["SubnetIds"]
        subnets = session.client("ec2").describe_subnets(SubnetIds=subnet_ids)["Subnets"]
        zones = {subnet["AvailabilityZone"] for subnet in subnets}
        assert len(subnet_ids) >= 2 and len(zones) == len(subnet_ids)
        environment = config["Environment"]["Variables"]
        assert set(environment) == CONTRACT_ENVIRONMENT | {"AWS_ENDPOINT_URL"}
        assert environment["AWS_ENDPOINT_URL"] == moto.endpoint_url
        assert secret["password"] not in json.dumps(environment)
        assert not [name for name in environment if SECRET_NAME.search(name)]
        assert environment["DB_SECRET_ARN"] == outputs["db_secret_arn"]
        assert environment["DB_TLS"] == "off" and environment["DB_PORT"] == "3307"
        # moto does not store LoggingConfig (the local profile leaves it unmanaged).
        assert (
            config.get("LoggingConfig", {}).get("LogGroup", outputs["log_group_name"])
            == (outputs["log_group_name"])
        )

        role_name = config["Role"].rpartition("/")[2]
        iam = session.client("iam")
        policies = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
        assert (
            policies and not iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
        )
        for policy_name in policies:
            document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)
            assert wildcard_grants(document["PolicyDocument"]) == [], policy_name

        mapping = lambda_client.get_event_source_mapping(UUID=outputs["event_source_mapping_uuid"])
        assert mapping["State"] in ("Disabled", "Disabling")

        attributes = session.client("sqs").get_queue_attributes(
            QueueUrl=outputs["queue_url"], AttributeNames=["All"]
        )["Attributes"]
        assert attributes["SqsManagedSseEnabled"] == "true"
        assert int(attributes["VisibilityTimeout"]) >= 6 * config["Timeout"]
        assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] >= 5
    finally:
        started = time.monotonic()
        tf.destroy(ws, auto_approve=True, stream=False)
        timings["destroy"] = time.monotonic() - started
        for step, seconds in timings.items():
            record_property(f"{step}_seconds", round(seconds, 1))
        print("round trip timings:", {k: round(v, 1) for k, v in timings.items()})

    state = tf.show_state(ws)
    assert not state.get("values", {}).get("root_module", {}).get("resources")
