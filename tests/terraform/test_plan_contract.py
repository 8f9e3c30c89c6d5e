"""Contract of the Terraform stack, read from `terraform plan` JSON against a moto server.

Both profiles are planned: `local` (what the round trip applies) and `aws` (the real settings,
with moto answering the data sources).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.terraform.conftest import (
    ALARM_EMAIL,
    Stack,
    by_type,
    plan_json,
    planned_resources,
    run_failing_plan,
)

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
# Beyond the contract: the bootstrap's input, which the local stack runs the bootstrap with, and
# the names of the optional systems (read with outputs.load_raw).
STACK_OUTPUTS = CONTRACT_OUTPUTS | {
    "db_bootstrap_event",
    "lake_bucket",
    "change_failure_queue_url",
    "import_bucket_name",
    "import_queue_url",
    "import_queue_arn",
    "importer_function_name",
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
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
}
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET(?!_ARN)|TOKEN|PRIVATE|ACCESS_KEY", re.IGNORECASE)
ANYWHERE = {"0.0.0.0/0", "::/0"}
FAKE_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
TABLE_KEY = "arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"
REGISTRATION = "module.registration."


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
    assert set(outputs) == STACK_OUTPUTS
    assert not [name for name, change in outputs.items() if change["after_sensitive"]]


def test_function_runs_in_at_least_two_subnets_in_distinct_zones(plan: dict[str, Any]) -> None:
    subnets = by_type(plan, "aws_subnet")
    zones = [after(subnet)["availability_zone_id"] for subnet in subnets]
    assert len(zones) >= 2
    assert len(set(zones)) == len(zones), zones

    # Subnet IDs are unknown before apply (the round trip checks the applied ones): both
    # functions must be wired to exactly the network's private subnets, one per zone.
    calls = plan["configuration"]["root_module"]["module_calls"]
    for name in ("registration", "db_bootstrap"):
        references = calls[name]["expressions"]["vpc_config"]["references"]
        assert "module.network.private_subnet_ids" in references, name
        assert "module.network.function_security_group_id" in references, name


def subnet_cidrs(plan: dict[str, Any]) -> dict[str, str]:
    return {
        after(subnet)["availability_zone_id"]: after(subnet)["cidr_block"]
        for subnet in by_type(plan, "aws_subnet")
    }


def test_zones_are_chosen_by_id_and_keep_their_cidr_whatever_else_is_chosen(
    plan: dict[str, Any], stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Default: the first ids in sorted order, without use1-az3 (Lambda and RDS refuse it).
    assert subnet_cidrs(plan) == {"use1-az1": "10.42.1.0/24", "use1-az2": "10.42.2.0/24"}
    explicit = plan_json(
        stack.workspace(
            "local", name="plan-zone-ids", availability_zone_ids=["use1-az4", "use1-az1"]
        ),
        tmp_path_factory.mktemp("plans") / "zones",
    )
    assert subnet_cidrs(explicit) == {"use1-az1": "10.42.1.0/24", "use1-az4": "10.42.4.0/24"}


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
    # no secret value or password argument exists, RDS manages the master password, and the
    # application secret is created empty (the bootstrap function writes it).
    assert not by_type(plan, "aws_secretsmanager_secret_version")
    assert only(plan, "aws_secretsmanager_secret", "module.db_bootstrap.")
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
    # Retired Lambda environments never close their connection: the server does, after 10 min.
    assert parameters["wait_timeout"] == parameters["interactive_timeout"] == "600"


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
    registration_mapping = ("aws_lambda_event_source_mapping", REGISTRATION)
    assert after(only(local_plan, *registration_mapping))["enabled"] is False
    # moto would run a stream mapping through Docker: locally they are published, not created.
    assert not [
        m
        for m in by_type(local_plan, "aws_lambda_event_source_mapping")
        if "stream" in m["address"]
    ]
    aws_mapping = after(only(aws_plan, *registration_mapping))
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
        "FreeStorageSpace",
        "FreeableMemory",
        "4XXError",
        "5XXError",
        "Latency",
        "IteratorAge",
        "RecordsFailed",
    }
    low = {
        after(a)["metric_name"]
        for a in by_type(aws_plan, "aws_cloudwatch_metric_alarm")
        if after(a)["comparison_operator"] == "LessThanThreshold"
    }
    assert low == {"FreeStorageSpace", "FreeableMemory"}
    assert by_type(aws_plan, "aws_cloudwatch_dashboard")
    assert by_type(aws_plan, "aws_sqs_queue_redrive_allow_policy")
    # The registration queue's and the import queue's.
    assert {r["module_address"] for r in by_type(aws_plan, "aws_sqs_queue_redrive_policy")} == {
        "module.queue",
        "module.bulk_import.module.queue",
    }
    for function in by_type(aws_plan, "aws_lambda_function"):
        assert after(function)["logging_config"][0]["log_format"] == "JSON"
    assert after(only(aws_plan, "aws_db_instance"))["monitoring_interval"] == 60


def expanded(lines: list[list[Any]]) -> list[list[Any]]:
    """A widget's metric lines with CloudWatch's "." shorthand (same as the line above)
    resolved."""
    resolved: list[list[Any]] = []
    for line in lines:
        previous = resolved[-1] if resolved else []
        resolved.append(
            [
                previous[i] if item == "." and i < len(previous) else item
                for i, item in enumerate(line)
            ]
        )
    return resolved


def test_aws_alarms_and_dashboard_watch_the_alias_and_the_handlers_own_counts(
    aws_plan: dict[str, Any],
) -> None:
    function = after(only(aws_plan, "aws_lambda_function", REGISTRATION))["function_name"]
    alias = after(only(aws_plan, "aws_lambda_alias", REGISTRATION))["name"]
    assert alias == "live"
    alarms = [after(a) for a in by_type(aws_plan, "aws_cloudwatch_metric_alarm")]
    errors = [a for a in alarms if (a["namespace"], a["metric_name"]) == ("AWS/Lambda", "Errors")]
    (alias_errors,) = [a for a in errors if "Resource" in a["dimensions"]]
    assert alias_errors["dimensions"] == {"FunctionName": function, "Resource": f"{function}:live"}
    assert (alias_errors["statistic"], alias_errors["period"]) == ("Sum", 60)
    # The function-wide errors alarm stays (direct invocations of $LATEST or a version count).
    assert [a for a in errors if a["dimensions"] == {"FunctionName": function}]
    (failed,) = [a for a in alarms if a["namespace"] == "Registrations"]
    assert failed["metric_name"] == "RecordsFailed"
    assert failed["dimensions"] == {"service": function}  # POWERTOOLS_SERVICE_NAME = the name
    assert (failed["statistic"], failed["period"], failed["threshold"]) == ("Sum", 60, 0)
    assert failed["comparison_operator"] == "GreaterThanThreshold"

    (dashboard,) = by_type(aws_plan, "aws_cloudwatch_dashboard")
    widgets = json.loads(after(dashboard)["dashboard_body"])["widgets"]
    lines = [line for w in widgets for line in expanded(w["properties"]["metrics"])]
    for name in ("Invocations", "Errors", "Throttles"):
        assert [
            "AWS/Lambda",
            name,
            "FunctionName",
            function,
            "Resource",
            f"{function}:live",
        ] in lines
    searches = [line[0]["expression"] for line in lines if isinstance(line[0], dict)]
    assert len(searches) == 2 and all("ExecutedVersion" in e for e in searches)
    assert all(f'Resource="{function}:live"' in e for e in searches)
    handler = {line[1] for line in lines if line[:1] == ["Registrations"]}
    assert {"RecordsReceived", "RecordsRejected", "RecordsFailed"} <= handler


def test_the_handler_publishes_its_counts_without_a_cloudwatch_grant(
    plan: dict[str, Any],
) -> None:
    """EMF goes through the function's log group (logs:PutLogEvents, which every function
    has): a cloudwatch:PutMetricData grant would be one the code never uses."""
    actions = {a for st in registration_statements(plan).values() for a in st["actions"]}
    assert not [a for a in actions if a.startswith("cloudwatch:")]
    assert "logs:PutLogEvents" in actions
    # The environment's values are known after apply only (the round trip checks them): here,
    # the function's POWERTOOLS_METRICS_NAMESPACE and the alarms' namespace are one local.
    calls = plan["configuration"]["root_module"]["module_calls"]
    environment = calls["registration"]["expressions"]["environment_variables"]["references"]
    observability = calls["observability"]["expressions"]
    for part in ("namespace", "service"):
        assert f"local.handler_metrics.{part}" in environment
        assert observability[f"handler_metrics_{part}"]["references"][0] == (
            f"local.handler_metrics.{part}"
        )
    assert observability["function_alias_name"]["references"][0] == (
        "module.registration.alias_name"
    )


def test_local_profile_only_drops_what_moto_cannot_do(local_plan: dict[str, Any]) -> None:
    # Each of these is listed in envs/README.md; everything else is the same as in aws.
    assert not by_type(local_plan, "aws_cloudwatch_metric_alarm")
    assert not by_type(local_plan, "aws_cloudwatch_dashboard")
    assert not by_type(local_plan, "aws_sqs_queue_redrive_allow_policy")
    assert not [
        f for f in by_type(local_plan, "aws_lambda_function") if after(f).get("logging_config")
    ]
    assert not by_type(local_plan, "aws_lambda_invocation")
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
        stack.workspace("aws", name="plan-cmk", kms_key_arn=FAKE_KEY, alarm_email=ALARM_EMAIL),
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
    statements = registration_statements(plan)
    assert statements["DecryptWithCustomerKeys"]["resources"] == [FAKE_KEY]
    assert statements["EncryptDeadLetters"]["resources"] == [FAKE_KEY]
    assert statements["UseTableKey"]["resources"] == [FAKE_KEY]


def registration_statements(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The registration role's statements by Sid (planned, before the ARNs are known)."""
    document = next(
        rc
        for rc in plan["resource_changes"]
        if rc["address"] == f"{REGISTRATION}data.aws_iam_policy_document.this"
    )
    return {st.get("sid"): st for st in after(document)["statement"]}


def test_a_table_key_of_its_own_is_granted_to_the_function(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    plan = plan_json(
        stack.workspace("local", name="plan-table-key", table_kms_key_arn=TABLE_KEY),
        tmp_path_factory.mktemp("plans") / "table-key",
    )
    table = after(only(plan, "aws_dynamodb_table"))
    assert table["server_side_encryption"][0]["kms_key_arn"] == TABLE_KEY
    grant = registration_statements(plan)["UseTableKey"]
    assert grant["resources"] == [TABLE_KEY]
    assert set(grant["actions"]) == {
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey*",
        "kms:DescribeKey",
    }


def test_the_handler_writes_only_and_reads_only_the_application_secret(
    plan: dict[str, Any],
) -> None:
    statements = registration_statements(plan)
    assert statements["WriteUsers"]["actions"] == ["dynamodb:PutItem"]
    calls = plan["configuration"]["root_module"]["module_calls"]
    secret_arn = calls["registration"]["expressions"]["environment_variables"]["references"]
    assert "local.registration_db_secret_arn" in secret_arn
    assert "module.database.master_user_secret_arn" not in secret_arn
    # The master secret is read by the bootstrap module only.
    bootstrap = calls["db_bootstrap"]["expressions"]
    assert "module.database.master_user_secret_arn" in bootstrap["master_secret_arn"]["references"]


def test_every_role_has_a_name_prefix_for_a_second_region(plan: dict[str, Any]) -> None:
    roles = by_type(plan, "aws_iam_role")
    assert len(roles) >= 3
    for role in roles:
        assert after(role).get("name_prefix"), role["address"]
    # RDS's monitoring role: only RDS acting for this account may assume it (aws profile only).
    for role in roles:
        if "monitoring" in role["address"]:
            trust = after(role)["assume_role_policy"]
            assert "aws:SourceAccount" in trust


def test_the_bootstrap_runs_on_aws_on_the_published_version(aws_plan: dict[str, Any]) -> None:
    invocation = only(aws_plan, "aws_lambda_invocation", "module.db_bootstrap.")
    assert after_unknown(invocation).get("qualifier") or after(invocation).get("qualifier")
    module = aws_plan["configuration"]["root_module"]["module_calls"]["db_bootstrap"]["module"]
    resource = next(r for r in module["resources"] if r["type"] == "aws_lambda_invocation")
    assert "module.function.version" in resource["expressions"]["qualifier"]["references"]


def test_the_final_snapshot_name_has_a_suffix_kept_in_state(aws_plan: dict[str, Any]) -> None:
    suffix = only(aws_plan, "terraform_data", "final_snapshot_suffix")
    assert suffix["change"]["actions"] == ["create"]
    database = only(aws_plan, "aws_db_instance")
    assert after_unknown(database)["final_snapshot_identifier"] is True


def test_endpoint_policies_admit_only_this_stacks_resources(plan: dict[str, Any]) -> None:
    documents = {
        rc["index"]: after(rc)
        for rc in plan["resource_changes"]
        if rc["address"].startswith("module.network.data.aws_iam_policy_document.endpoint")
    }
    assert set(documents) == {"dynamodb", "secretsmanager", "sqs"}
    for service, document in documents.items():
        (statement,) = document["statement"]
        assert all(action.startswith(f"{service}:") for action in statement["actions"])
        assert "*" not in statement["actions"] and f"{service}:*" not in statement["actions"]
        (condition,) = statement["condition"]
        assert condition["variable"] == "aws:PrincipalAccount"
    assert documents["dynamodb"]["statement"][0]["actions"] == ["dynamodb:PutItem"]
    network = plan["configuration"]["root_module"]["module_calls"]["network"]["expressions"]
    references = network["endpoint_policy_resources"]["references"]
    for wired in (
        "module.table.table_arn",
        "module.database.master_user_secret_arn",
        "module.db_bootstrap.application_secret_arn",
        "module.queue.queue_arn",
        "module.queue.dlq_arn",
    ):
        assert wired in references


def test_flow_log_role_can_find_its_group_and_waits_for_its_policy(plan: dict[str, Any]) -> None:
    document = next(
        rc
        for rc in plan["resource_changes"]
        if rc["address"] == "module.network.data.aws_iam_policy_document.flow_logs[0]"
    )
    actions = {a for st in after(document)["statement"] for a in st["actions"]}
    assert {"logs:DescribeLogGroups", "logs:DescribeLogStreams"} <= actions
    module = plan["configuration"]["root_module"]["module_calls"]["network"]["module"]
    flow_log = next(r for r in module["resources"] if r["address"] == "aws_flow_log.this")
    assert flow_log["depends_on"] == ["aws_iam_role_policy.flow_logs"]


def test_the_proxy_pools_connections_over_tls_and_the_function_uses_it(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Beyond 2 x concurrency + 5 > max_connections the plan fails unless the proxy pools them.
    plan = plan_json(
        stack.workspace(
            "aws",
            name="plan-proxy",
            alarm_email=ALARM_EMAIL,
            db_proxy_enabled=True,
            event_source_maximum_concurrency=100,
        ),
        tmp_path_factory.mktemp("plans") / "proxy",
    )
    proxy = after(only(plan, "aws_db_proxy"))
    assert proxy["require_tls"] is True and proxy["engine_family"] == "MYSQL"
    assert proxy["idle_client_timeout"] == 600
    assert only(plan, "aws_db_proxy_target")
    assert only(plan, "aws_security_group", ".proxy")
    calls = plan["configuration"]["root_module"]["module_calls"]
    assert (
        "module.db_bootstrap.application_secret_arn"
        in (calls["database"]["expressions"]["proxy_secret_arns"]["references"])
    )


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
            (f"{REGISTRATION}aws_lambda_event_source_mapping.sqs[0]",),
            "requires maximum_batching_window_in_seconds >= 1",
            id="batch-over-10-without-window",
        ),
        pytest.param(
            # 2 x 30 environments (retired ones keep theirs until wait_timeout) + 5 in reserve.
            {"event_source_maximum_concurrency": 30, "db_max_connections": 60},
            ("module.database.aws_db_parameter_group.this",),
            "max_connections 60 is below the 65 connections",
            id="concurrency-and-turnover-exceed-db-connections",
        ),
        pytest.param(
            {"availability_zone_ids": ["use1-az1", "use1-az3"]},
            ("module.network",),
            "must be zone ids of us-east-1 (not excluded)",
            id="zone-lambda-and-rds-refuse",
        ),
        pytest.param(
            {"db_performance_insights_enabled": True, "db_instance_class": "db.t4g.micro"},
            ("module.database.aws_db_instance.this",),
            "Performance Insights is not available on db.t4g.micro",
            id="performance-insights-on-micro",
        ),
        pytest.param(
            {"db_database_insights_mode": "advanced", "db_instance_class": "db.r7g.large"},
            ("module.database.aws_db_instance.this",),
            "needs Performance Insights enabled with a retention of at least 465 days",
            id="advanced-insights-without-pi",
        ),
        pytest.param(
            {"function_reserved_concurrency": 5},
            (f"{REGISTRATION}aws_lambda_function.this",),
            "is below the event source's maximum_concurrency",
            id="reserved-below-mapping-concurrency",
        ),
        pytest.param(
            {"function_timeout_seconds": 901},
            (),
            "function_timeout_seconds must be 29-900",
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
    assert "az_count = 3 needs as many distinct Availability Zones" in " ".join(detail.split())


def test_alarms_that_notify_nobody_fail_the_aws_plan(stack: Stack) -> None:
    detail = run_failing_plan(
        stack.workspace("aws", name="plan-no-alarm-target"), ("module.observability",)
    )
    assert "The alarms would notify nobody" in " ".join(detail.split()), detail
