"""The local profile against moto: apply, re-plan without changes, inspect, destroy."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pymysql.err
import pytest

from scripts.harness.stack import aws_session, moto_server, processes
from scripts.harness.stack import terraform as tf
from scripts.harness.stack.mariadb import MariaDBServer
from scripts.local_stack import provision_database
from tests.terraform.conftest import Stack
from tests.terraform.iam_rules import wildcard_grants
from tests.terraform.test_plan_contract import CONTRACT_ENVIRONMENT, SECRET_NAME, STACK_OUTPUTS

pytestmark = pytest.mark.terraform


def pending_changes(ws: tf.Workspace, plan_file: Path) -> list[str]:
    """Address, actions and (before, after) of each changed attribute of a dirty re-plan."""
    tf.plan(ws, out=plan_file)
    plan = tf.show_plan(ws, plan_file)
    changes = []
    for rc in plan.get("resource_changes", []):
        actions = rc["change"]["actions"]
        if actions not in (["no-op"], ["read"]):
            before, after = rc["change"].get("before") or {}, rc["change"].get("after") or {}
            differing = {
                key: (before.get(key), after.get(key))
                for key in sorted(set(before) | set(after))
                if before.get(key) != after.get(key)
            }
            changes.append(f"{rc['address']} {actions} {differing}")
    return changes


def assert_least_privilege_login(secret: dict[str, Any], port: int, database: str) -> None:
    """The application user may upsert users and nothing more."""
    with (
        pymysql.connect(
            host="127.0.0.1",
            port=port,
            user=secret["username"],
            password=secret["password"],
            database=database,
            autocommit=True,
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO users (user_id, name, email, registered_at, version) "
            "VALUES ('rt-1', 'Round Trip', NULL, '2026-11-30 12:00:00', 'v1')"
        )
        cursor.execute("SELECT name FROM users WHERE user_id = 'rt-1'")
        assert cursor.fetchall() == (("Round Trip",),)
        with pytest.raises(pymysql.err.OperationalError) as denied:
            cursor.execute("DELETE FROM users")
        assert denied.value.args[0] == 1142


@pytest.fixture
def fresh_mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDBServer]:
    """A server of its own, as a new RDS instance: the session's server already has an
    application user at 127.0.0.1, which MySQL would match before the bootstrap's user at '%'."""
    server = MariaDBServer(
        tmp_path_factory.mktemp("round-trip-mariadb"), port=processes.free_port(), durable=False
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_local_profile_round_trip(
    stack: Stack,
    moto: moto_server.MotoServer,
    fresh_mariadb: MariaDBServer,
    tmp_path: Path,
    record_property: Any,
) -> None:
    # The function (and the bootstrap) talk to a local MariaDB, as local_stack's do.
    ws = stack.workspace(
        "local",
        name="round-trip",
        function_db_endpoint_override={
            "host": "127.0.0.1",
            "port": fresh_mariadb.port,
            "tls": "off",
        },
    )
    session = aws_session.session(aws_session.local_target(moto.endpoint_url))
    timings: dict[str, float] = {}

    started = time.monotonic()
    tf.apply(ws, auto_approve=True, stream=False)
    timings["apply"] = time.monotonic() - started
    try:
        outputs = {name: item["value"] for name, item in tf.output(ws).items()}
        assert set(outputs) == STACK_OUTPUTS

        # What aws_lambda_invocation does on AWS: the bootstrap creates the table and the
        # application user, and writes its password into the (so far empty) db_secret_arn.
        started = time.monotonic()
        result = provision_database(session, outputs["db_bootstrap_event"], fresh_mariadb)
        timings["bootstrap"] = time.monotonic() - started
        assert result["created"] is True

        started = time.monotonic()
        has_changes = tf.plan(ws)
        timings["plan"] = time.monotonic() - started
        if has_changes:
            pytest.fail(f"re-plan is not clean: {pending_changes(ws, tmp_path / 'replan')}")

        # The application secret holds the bootstrap's password; neither it nor the master
        # password is in state or outputs, and the user can do what the handler does, no more.
        secrets = session.client("secretsmanager")
        secret = json.loads(
            secrets.get_secret_value(SecretId=outputs["db_secret_arn"])["SecretString"]
        )
        master = json.loads(
            secrets.get_secret_value(SecretId=outputs["db_bootstrap_event"]["master_secret_arn"])[
                "SecretString"
            ]
        )
        assert secret["username"] == outputs["db_bootstrap_event"]["username"]
        state_text = ws.state_path.read_text()
        for password in (secret["password"], master["password"]):
            assert password not in state_text
            assert password not in json.dumps(outputs)
        assert_least_privilege_login(secret, fresh_mariadb.port, outputs["db_name"])

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
        assert environment["DB_TLS"] == "off"
        assert environment["DB_PORT"] == str(fresh_mariadb.port)
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
        statements = []
        for policy_name in policies:
            document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)
            assert wildcard_grants(document["PolicyDocument"]) == [], policy_name
            statements += document["PolicyDocument"]["Statement"]
        secret_reads = [
            statement["Resource"]
            for statement in statements
            if "secretsmanager:GetSecretValue" in statement["Action"]
        ]
        assert secret_reads == [outputs["db_secret_arn"]]

        # Traffic goes to the alias live, created on the first published version.
        aliases = lambda_client.list_aliases(FunctionName=outputs["function_name"])["Aliases"]
        assert [(alias["Name"], alias["FunctionVersion"]) for alias in aliases] == [("live", "1")]

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
