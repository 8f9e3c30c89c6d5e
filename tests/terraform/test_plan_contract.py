"""Contract of the Terraform stack, read from `terraform plan` JSON against a moto server.

Both profiles are planned: `local` (what the round trip applies) and `aws` (the real settings,
with moto answering the data sources).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.terraform.conftest import Stack, by_type, plan_json, planned_resources, run_failing_plan

pytestmark = pytest.mark.terraform

CONTRACT_OUTPUTS = {
    "queue_url",
    "queue_arn",
    "dlq_url",
    "dlq_arn",
    "table_name",
    "db_host",
    "db_port",
    "db_name",
    "db_secret_arn",
    "function_name",
    "log_group_name",
    "event_source_mapping_uuid",
    # HTTP ingestion (#13); commands read them in scripts/harness/gateway/ingest_outputs.py
    "ingest_url",
    "ingest_api_id",
    "ingest_stage_name",
    "ingest_api_key_id",
}
CONTRACT_ENVIRONMENT = {
    "TABLE_NAME",
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_SECRET_ARN",
    "DB_TLS",
    "DLQ_URL",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_LOG_LEVEL",
}
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET(?!_ARN)|TOKEN|PRIVATE|ACCESS_KEY", re.IGNORECASE)
ANYWHERE = {"0.0.0.0/0", "::/0"}
FAKE_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def after(change: dict[str, Any]) -> dict[str, Any]:
    return change["change"]["after"] or {}


def after_unknown(change: dict[str, Any]) -> dict[str, Any]:
    return change["change"].get("after_unknown") or {}


def only(plan: dict[str, Any], resource_type: str, address_part: str = "") -> dict[str, Any]:
    matches = [rc for rc in by_type(plan, resource_type) if address_part in rc["address"]]
    assert len(matches) == 1, [rc["address"] for rc in matches]
    return matches[0]


@pytest.fixture(scope="module", params=["local", "aws"])
def plan(request: pytest.FixtureRequest) -> dict[str, Any]:
    return request.getfixturevalue(f"{request.param}_plan")


def test_outputs_are_exactly_the_contract_and_not_sensitive(plan: dict[str, Any]) -> None:
    outputs = plan["output_changes"]
    assert set(outputs) == CONTRACT_OUTPUTS
    assert not [name for name, change in outputs.items() if change["after_sensitive"]]


def test_function_runs_in_at_least_two_subnets_in_distinct_zones(plan: dict[str, Any]) -> None:
    subnets = by_type(plan, "aws_subnet")
    zones = [after(subnet)["availability_zone"] for subnet in subnets]
    assert len(zones) >= 2
    assert len(set(zones)) == len(zones), zones

    # Subnet IDs are unknown before apply (the round trip checks the applied ones): the function
    # must be wired to exactly the network's private subnets, one per zone.
    calls = plan["configuration"]["root_module"]["module_calls"]
    wiring = calls["function"]["expressions"]
    assert "module.network.private_subnet_ids" in wiring["subnet_ids"]["references"]
    assert (
        "module.network.function_security_group_id" in (wiring["security_group_ids"]["references"])
    )
    function_resource = next(
        r for r in calls["function"]["module"]["resources"] if r["type"] == "aws_lambda_function"
    )
    assert (
        "var.subnet_ids"
        in function_resource["expressions"]["vpc_config"][0]["subnet_ids"]["references"]
    )


def test_no_security_group_admits_traffic_from_anywhere(plan: dict[str, Any]) -> None:
    ingress = by_type(plan, "aws_vpc_security_group_ingress_rule")
    assert ingress, "expected explicit ingress rules"
    for rule in ingress:
        values = after(rule)
        assert values.get("cidr_ipv4") not in ANYWHERE
        assert values.get("cidr_ipv6") not in ANYWHERE
        assert values.get("cidr_ipv4") is None and values.get("cidr_ipv6") is None, (
            f"{rule['address']} admits a CIDR; only security-group references are expected"
        )
    for group in by_type(plan, "aws_security_group") + by_type(plan, "aws_default_security_group"):
        for inline in after(group).get("ingress") or []:
            assert not ANYWHERE & set(
                inline.get("cidr_blocks", []) + inline.get("ipv6_cidr_blocks", [])
            )
    assert not by_type(plan, "aws_security_group_rule"), "use the per-rule resources"
    default = only(plan, "aws_default_security_group")
    assert not after(default).get("ingress") and not after(default).get("egress")


def test_function_egress_is_limited_to_database_endpoints_and_dynamodb(
    plan: dict[str, Any],
) -> None:
    egress = [after(rule) for rule in by_type(plan, "aws_vpc_security_group_egress_rule")]
    assert sorted((rule["from_port"], rule["to_port"]) for rule in egress) == [
        (443, 443),
        (443, 443),
        (3306, 3306),
    ]
    assert all(rule.get("cidr_ipv4") is None and rule.get("cidr_ipv6") is None for rule in egress)


def test_vpc_endpoints_cover_every_aws_api_the_function_calls(plan: dict[str, Any]) -> None:
    endpoints = {after(e)["service_name"]: after(e) for e in by_type(plan, "aws_vpc_endpoint")}
    assert set(endpoints) == {
        "com.amazonaws.us-east-1.dynamodb",
        "com.amazonaws.us-east-1.secretsmanager",
        "com.amazonaws.us-east-1.sqs",
    }
    assert endpoints["com.amazonaws.us-east-1.dynamodb"]["vpc_endpoint_type"] == "Gateway"
    for name in ("secretsmanager", "sqs"):
        assert endpoints[f"com.amazonaws.us-east-1.{name}"]["private_dns_enabled"] is True
    network = plan["configuration"]["root_module"]["module_calls"]["network"]["module"]
    gateway = next(r for r in network["resources"] if r["address"] == "aws_vpc_endpoint.dynamodb")
    assert "aws_route_table.private" in gateway["expressions"]["route_table_ids"]["references"]
    assert len(by_type(plan, "aws_route_table")) >= 2
    assert not by_type(plan, "aws_nat_gateway") and not by_type(plan, "aws_internet_gateway")


def test_no_secret_reaches_the_function_or_the_state(plan: dict[str, Any]) -> None:
    # The environment's values are only known after apply (the round trip checks them); here:
    # no secret resource or password argument exists, and RDS manages the password.
    assert not by_type(plan, "aws_secretsmanager_secret_version")
    database = after(only(plan, "aws_db_instance"))
    assert database["manage_master_user_password"] is True
    assert database.get("password") is None and database.get("password_wo") is None
    assert not [name for name in plan["variables"] if SECRET_NAME.search(name)]


def test_database_is_private_tls_only_and_protected_per_profile(
    local_plan: dict[str, Any], aws_plan: dict[str, Any]
) -> None:
    for plan, protected in ((aws_plan, True), (local_plan, False)):
        database = after(only(plan, "aws_db_instance"))
        assert database["engine"] == "mysql" and database["engine_version"].startswith("8.4")
        assert database["publicly_accessible"] is False
        assert database["storage_type"] == "gp3" and database["allocated_storage"] >= 20
        assert database["iam_database_authentication_enabled"] is True
        assert database["auto_minor_version_upgrade"] is True
        assert database["copy_tags_to_snapshot"] is True
        assert database["backup_retention_period"] >= 1
        assert database["enabled_cloudwatch_logs_exports"]
        assert database["deletion_protection"] is protected
        assert database["skip_final_snapshot"] is not protected
        table = after(only(plan, "aws_dynamodb_table"))
        assert table["deletion_protection_enabled"] is protected


def test_database_parameters_enforce_tls_and_utf8mb4(aws_plan: dict[str, Any]) -> None:
    group = after(only(aws_plan, "aws_db_parameter_group"))
    assert group["family"] == "mysql8.4"
    parameters = {p["name"]: p["value"] for p in group["parameter"]}
    assert parameters["require_secure_transport"] == "1"
    assert parameters["character_set_server"] == "utf8mb4"
    assert parameters["collation_server"] == "utf8mb4_0900_ai_ci"
    assert parameters["max_connections"] == "60"


def test_profiles_differ_where_documented(
    local_plan: dict[str, Any], aws_plan: dict[str, Any]
) -> None:
    local_vars = {k: v["value"] for k, v in local_plan["variables"].items()}
    aws_vars = {k: v["value"] for k, v in aws_plan["variables"].items()}
    assert local_vars["function_db_endpoint_override"] == {
        "host": "127.0.0.1",
        "port": 3307,
        "tls": "off",
    }
    assert local_vars["aws_endpoint_url"].startswith("http://127.0.0.1:")
    assert aws_vars["function_db_endpoint_override"] is None
    assert aws_vars["aws_endpoint_url"] is None
    assert local_plan["output_changes"]["db_port"]["after"] == 3307
    assert after(only(local_plan, "aws_lambda_event_source_mapping"))["enabled"] is False
    aws_mapping = after(only(aws_plan, "aws_lambda_event_source_mapping"))
    assert aws_mapping["enabled"] is True
    assert aws_mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert aws_mapping["scaling_config"][0]["maximum_concurrency"] >= 2


def test_aws_profile_has_alarms_dashboard_and_redrive_allow_policy(
    aws_plan: dict[str, Any],
) -> None:
    alarms = {after(a)["metric_name"] for a in by_type(aws_plan, "aws_cloudwatch_metric_alarm")}
    assert alarms == {
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "Errors",
        "Throttles",
        "CPUUtilization",
        "DatabaseConnections",
        "4XXError",
        "5XXError",
        "Latency",
    }
    assert by_type(aws_plan, "aws_cloudwatch_dashboard")
    assert by_type(aws_plan, "aws_sqs_queue_redrive_allow_policy")
    assert only(aws_plan, "aws_sqs_queue_redrive_policy")
    function = after(only(aws_plan, "aws_lambda_function"))
    assert function["logging_config"][0]["log_format"] == "JSON"
    assert after(only(aws_plan, "aws_db_instance"))["monitoring_interval"] == 60


def test_local_profile_only_drops_what_moto_cannot_do(local_plan: dict[str, Any]) -> None:
    # Each of these is listed in envs/README.md; everything else is the same as in aws.
    assert not by_type(local_plan, "aws_cloudwatch_metric_alarm")
    assert not by_type(local_plan, "aws_cloudwatch_dashboard")
    assert not by_type(local_plan, "aws_sqs_queue_redrive_allow_policy")
    assert not after(only(local_plan, "aws_lambda_function")).get("logging_config")
    assert after(only(local_plan, "aws_db_instance"))["monitoring_interval"] == 0
    assert by_type(local_plan, "aws_sns_topic") and by_type(local_plan, "aws_flow_log")


def test_encryption_at_rest_everywhere_by_default(plan: dict[str, Any]) -> None:
    for queue in by_type(plan, "aws_sqs_queue"):
        assert after(queue)["sqs_managed_sse_enabled"] is True, queue["address"]
    table = after(only(plan, "aws_dynamodb_table"))
    assert table["server_side_encryption"][0]["enabled"] is True
    assert table["point_in_time_recovery"][0]["enabled"] is True
    assert after(only(plan, "aws_db_instance"))["storage_encrypted"] is True
    topic = only(plan, "aws_sns_topic")
    assert after_unknown(topic).get("kms_master_key_id") or after(topic).get("kms_master_key_id")
    assert after(only(plan, "aws_kms_key"))["enable_key_rotation"] is True


def test_a_customer_key_reaches_every_encrypted_resource(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    plan = plan_json(
        stack.workspace("aws", name="plan-cmk", kms_key_arn=FAKE_KEY),
        tmp_path_factory.mktemp("plans") / "cmk",
    )
    for queue in by_type(plan, "aws_sqs_queue"):
        assert after(queue)["kms_master_key_id"] == FAKE_KEY, queue["address"]
    for group in by_type(plan, "aws_cloudwatch_log_group"):
        assert after(group)["kms_key_id"] == FAKE_KEY, group["address"]
    assert (
        after(only(plan, "aws_dynamodb_table"))["server_side_encryption"][0]["kms_key_arn"]
        == FAKE_KEY
    )
    database = after(only(plan, "aws_db_instance"))
    assert database["kms_key_id"] == FAKE_KEY
    assert database["master_user_secret_kms_key_id"] == FAKE_KEY
    document = next(
        rc
        for rc in plan["resource_changes"]
        if rc["address"] == "module.function.data.aws_iam_policy_document.this"
    )
    statements = {st.get("sid"): st for st in after(document)["statement"]}
    assert statements["DecryptWithCustomerKeys"]["resources"] == [FAKE_KEY]
    assert statements["EncryptDeadLetters"]["resources"] == [FAKE_KEY]


def test_log_groups_have_retention(plan: dict[str, Any]) -> None:
    groups = {after(g)["name"]: after(g) for g in by_type(plan, "aws_cloudwatch_log_group")}
    assert "/aws/lambda/registrations" in groups
    assert all(group["retention_in_days"] > 0 for group in groups.values())


def test_every_resource_is_tagged_with_the_project(plan: dict[str, Any]) -> None:
    untagged = [
        rc["address"]
        for rc in planned_resources(plan)
        if "tags" in (after(rc) or {})
        and (after(rc).get("tags") or {}).get("Project") != "sqs-lambda-registrations"
    ]
    assert not untagged


@pytest.mark.parametrize(
    ("variables", "targets", "message"),
    [
        pytest.param(
            {"queue_visibility_timeout_seconds": 60},
            ("module.queue",),
            "must be at least 6 x function timeout",
            id="visibility-below-6x-timeout",
        ),
        pytest.param(
            {"event_source_batch_size": 50, "event_source_maximum_batching_window_in_seconds": 0},
            ("module.function.aws_lambda_event_source_mapping.this",),
            "requires maximum_batching_window_in_seconds >= 1",
            id="batch-over-10-without-window",
        ),
        pytest.param(
            {"event_source_maximum_concurrency": 60, "db_max_connections": 60},
            ("module.function.aws_lambda_event_source_mapping.this",),
            "must stay below the database's max_connections",
            id="concurrency-exceeds-db-connections",
        ),
        pytest.param(
            {"function_reserved_concurrency": 5},
            ("module.function.aws_lambda_function.this",),
            "is below the event source's maximum_concurrency",
            id="reserved-below-mapping-concurrency",
        ),
        pytest.param(
            {"function_timeout_seconds": 901},
            (),
            "whole number between 1 and 900",
            id="timeout-over-900",
        ),
        pytest.param(
            {"log_retention_in_days": 42},
            (),
            "log_retention_in_days must be one of",
            id="retention-not-allowed",
        ),
        pytest.param(
            {"max_receive_count": 3}, (), "between 5 and 1000", id="max-receive-count-below-5"
        ),
        pytest.param({"az_count": 1}, (), "between 2 and 6", id="single-az"),
        pytest.param({"az_count": 7}, (), "between 2 and 6", id="more-zones-than-allowed"),
    ],
)
def test_rules_aws_would_only_report_at_apply_fail_the_plan(
    stack: Stack, variables: dict[str, Any], targets: tuple[str, ...], message: str
) -> None:
    detail = run_failing_plan(stack.workspace("local", name="plan-fail", **variables), targets)
    assert message in " ".join(detail.split()), detail


def test_more_zones_than_the_region_has_fails_the_plan(stack: Stack) -> None:
    # us-west-1 offers two Availability Zones (in AWS and in moto).
    detail = run_failing_plan(
        stack.workspace("local", name="plan-zones", region="us-west-1", az_count=3),
        ("module.network",),
    )
    assert "offers 2 available Availability Zones" in " ".join(detail.split()), detail
