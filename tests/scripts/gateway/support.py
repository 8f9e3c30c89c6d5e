"""The ingest API created in moto with boto3, as modules/ingest_api creates it.

Same model file, same template files, same selection patterns and gateway responses as the
Terraform module (which loads them from the same paths). Used by the gateway tests and by
bench/gateway.py, neither of which can wait for `terraform apply`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
TEMPLATES = REPO / "modules/ingest_api/templates"
SCHEMA = REPO / "lambdas/registration/contract.schema.json"
ACCOUNT = "123456789012"
STAGE = "v1"


def template(name: str) -> str:
    """As Terraform passes it: trimspace(file(...))."""
    return (TEMPLATES / name).read_text(encoding="utf-8").strip()


@dataclass
class IngestApi:
    api_id: str
    queue_url: str
    api_key: str | None
    session: Any
    api_key_id: str | None = None

    def outputs(self) -> dict[str, Any]:
        """The root outputs Terraform would give for this API."""
        return {
            "ingest_api_id": self.api_id,
            "ingest_stage_name": STAGE,
            "ingest_url": f"https://{self.api_id}.execute-api.us-east-1.amazonaws.com/{STAGE}"
            "/registrations",
            "ingest_api_key_id": self.api_key_id,
        }

    @property
    def client(self) -> Any:
        return self.session.client("apigateway")


def create_ingest_api(
    session: Any,
    *,
    auth: str = "api_key",
    rate: float = 500.0,
    burst: int = 1000,
    quota: int | None = 100_000,
    origin: str | None = "https://app.example.com",
    queue_url: str | None = None,
) -> IngestApi:
    """The module's resources, one boto3 call each (modules/ingest_api/main.tf), sending to
    `queue_url` (a queue named "registrations"), created when not given."""
    if queue_url is None:
        queue_url = session.client("sqs").create_queue(QueueName="registrations")["QueueUrl"]
    client = session.client("apigateway")
    api_id = client.create_rest_api(
        name="registrations-ingest", endpointConfiguration={"types": ["REGIONAL"]}
    )["id"]
    root = next(r for r in client.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resource = client.create_resource(
        restApiId=api_id, parentId=root["id"], pathPart="registrations"
    )["id"]
    client.create_model(
        restApiId=api_id,
        name="Registration",
        contentType="application/json",
        schema=SCHEMA.read_text(encoding="utf-8"),
    )
    validator = client.create_request_validator(
        restApiId=api_id, name="body", validateRequestBody=True, validateRequestParameters=False
    )["id"]
    client.put_method(
        restApiId=api_id,
        resourceId=resource,
        httpMethod="POST",
        authorizationType="NONE",
        apiKeyRequired=auth == "api_key",
        requestValidatorId=validator,
        requestModels={"application/json": "Registration"},
    )
    client.put_integration(
        restApiId=api_id,
        resourceId=resource,
        httpMethod="POST",
        type="AWS",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:us-east-1:sqs:path/{ACCOUNT}/registrations",
        credentials=f"arn:aws:iam::{ACCOUNT}:role/registrations-ingest",
        requestParameters={
            "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"
        },
        requestTemplates={"application/json": template("send_message.vtl")},
        passthroughBehavior="NEVER",
    )
    cors = {"method.response.header.Access-Control-Allow-Origin": f"'{origin}'"} if origin else {}
    for status, pattern, body in (
        ("200", r"2\d{2}", "accepted.json.vtl"),
        ("503", r"5\d{2}", "queue_unavailable.json.vtl"),
        ("502", None, "queue_refused.json.vtl"),
    ):
        client.put_method_response(
            restApiId=api_id,
            resourceId=resource,
            httpMethod="POST",
            statusCode=status,
            responseParameters=dict.fromkeys(cors, False),
        )
        client.put_integration_response(
            restApiId=api_id,
            resourceId=resource,
            httpMethod="POST",
            statusCode=status,
            **({"selectionPattern": pattern} if pattern else {}),
            responseTemplates={"application/json": template(body)},
            responseParameters=cors,
        )
    for response_type, body in (
        ("BAD_REQUEST_BODY", "bad_request_body.json.vtl"),
        ("DEFAULT_4XX", "error.json.vtl"),
        ("DEFAULT_5XX", "error.json.vtl"),
    ):
        client.put_gateway_response(
            restApiId=api_id,
            responseType=response_type,
            responseTemplates={"application/json": template(body)},
            responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": f"'{origin}'"}
            if origin
            else {},
        )
    if origin:  # the CORS preflight, answered by a MOCK integration
        client.put_method(
            restApiId=api_id,
            resourceId=resource,
            httpMethod="OPTIONS",
            authorizationType="NONE",
            apiKeyRequired=False,
        )
        client.put_integration(
            restApiId=api_id,
            resourceId=resource,
            httpMethod="OPTIONS",
            type="MOCK",
            requestTemplates={"application/json": '{"statusCode":200}'},
        )
        preflight = {
            "method.response.header.Access-Control-Allow-Origin": f"'{origin}'",
            "method.response.header.Access-Control-Allow-Methods": "'POST,OPTIONS'",
            "method.response.header.Access-Control-Allow-Headers": (
                "'Content-Type,X-Api-Key,Authorization,X-Amz-Date,X-Amz-Security-Token'"
            ),
            "method.response.header.Access-Control-Max-Age": "'600'",
        }
        client.put_method_response(
            restApiId=api_id,
            resourceId=resource,
            httpMethod="OPTIONS",
            statusCode="200",
            responseParameters=dict.fromkeys(preflight, True),
        )
        client.put_integration_response(
            restApiId=api_id,
            resourceId=resource,
            httpMethod="OPTIONS",
            statusCode="200",
            responseParameters=preflight,
        )
    client.create_deployment(restApiId=api_id, stageName=STAGE)
    client.update_stage(
        restApiId=api_id,
        stageName=STAGE,
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(rate)},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(burst)},
        ],
    )
    api_key = api_key_id = None
    if auth == "api_key":
        key = client.create_api_key(name="registrations-ingest", enabled=True)
        plan = client.create_usage_plan(
            name="registrations-ingest",
            apiStages=[{"apiId": api_id, "stage": STAGE}],
            throttle={"rateLimit": rate, "burstLimit": burst},
            **({"quota": {"limit": quota, "period": "DAY"}} if quota else {}),
        )
        client.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
        api_key, api_key_id = key["value"], key["id"]
    return IngestApi(api_id, queue_url, api_key, session, api_key_id)
