"""The ingest API in `terraform plan` JSON: what the local gateway relies on, and secure defaults.

The local gateway refuses an API it cannot emulate (scripts/harness/gateway/api.py); these tests
pin the module to exactly what it emulates (SQS SendMessage integration, NEVER passthrough, the
template files, the selection patterns) and to the defaults issue #13 asks for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.terraform.conftest import Stack, by_type, run_failing_plan

pytestmark = pytest.mark.terraform
TEMPLATES = Path(__file__).resolve().parents[2] / "modules/ingest_api/templates"


def after(change: dict[str, Any]) -> dict[str, Any]:
    return change["change"]["after"] or {}


def one(plan: dict[str, Any], resource_type: str, address_part: str = "") -> dict[str, Any]:
    matches = [rc for rc in by_type(plan, resource_type) if address_part in rc["address"]]
    assert len(matches) == 1, [rc["address"] for rc in matches]
    return after(matches[0])


@pytest.fixture(scope="module", params=["local", "aws"])
def plan(request: pytest.FixtureRequest) -> dict[str, Any]:
    return request.getfixturevalue(f"{request.param}_plan")


def test_post_is_validated_keyed_and_sent_to_sqs_unchanged(plan: dict[str, Any]) -> None:
    method = one(plan, "aws_api_gateway_method", "post")
    assert (method["http_method"], method["authorization"]) == ("POST", "NONE")
    assert method["api_key_required"] is True
    assert method["request_models"] == {"application/json": "Registration"}
    validator = one(plan, "aws_api_gateway_request_validator")
    assert validator["validate_request_body"] is True
    integration = one(plan, "aws_api_gateway_integration", "send_message")
    assert integration["type"] == "AWS"
    assert integration["passthrough_behavior"] == "NEVER"
    template = (TEMPLATES / "send_message.vtl").read_text().strip()
    assert integration["request_templates"] == {"application/json": template}
    assert "MessageBody=$util.urlEncode($input.body)" in template


def test_only_a_2xx_from_sqs_becomes_a_200(plan: dict[str, Any]) -> None:
    responses = {
        after(rc)["status_code"]: after(rc).get("selection_pattern")
        for rc in by_type(plan, "aws_api_gateway_integration_response")
        if ".post[" in rc["address"]
    }
    assert responses == {"200": r"2\d{2}", "503": r"5\d{2}", "502": None}


def test_stage_has_throttling_access_logs_and_xray(plan: dict[str, Any]) -> None:
    stage = one(plan, "aws_api_gateway_stage")
    assert stage["xray_tracing_enabled"] is True
    assert stage["access_log_settings"][0]["format"]
    settings = one(plan, "aws_api_gateway_method_settings")["settings"][0]
    assert settings["throttling_rate_limit"] > 0 and settings["throttling_burst_limit"] > 0
    assert settings["data_trace_enabled"] is False
    usage_plan = one(plan, "aws_api_gateway_usage_plan")
    assert usage_plan["quota_settings"][0]["period"] == "DAY"
    groups = [after(g) for g in by_type(plan, "aws_cloudwatch_log_group")]
    access = [g for g in groups if g["name"].startswith("API-Gateway-Access-Logs_")]
    assert len(access) == 1 and access[0]["retention_in_days"] > 0


def test_account_role_and_alarms_only_against_aws(
    local_plan: dict[str, Any], aws_plan: dict[str, Any]
) -> None:
    assert not by_type(local_plan, "aws_api_gateway_account")
    assert by_type(aws_plan, "aws_api_gateway_account")
    alarms = [
        after(a)["metric_name"]
        for a in by_type(aws_plan, "aws_cloudwatch_metric_alarm")
        if "ingest_api" in a["address"]
    ]
    assert sorted(alarms) == ["4XXError", "5XXError", "Latency"]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"ingest_auth": "basic"}, "ingest_auth must be"),
        (
            {"ingest_allowed_origins": ["https://a.example", "https://b.example"]},
            "at most one origin",
        ),
        (
            {"ingest_usage_plan": {"rate_limit": 500, "burst_limit": 100, "daily_quota": 10}},
            "cannot exceed the stage's",
        ),
    ],
    ids=["unknown-auth", "two-origins", "plan-above-stage"],
)
def test_bad_ingest_settings_fail_the_plan(
    stack: Stack, variables: dict[str, Any], message: str
) -> None:
    assert message in run_failing_plan(
        stack.workspace("local", name="plan-bad-ingest", **variables)
    )
