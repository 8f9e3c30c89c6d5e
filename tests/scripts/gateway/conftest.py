"""The ingest API created in a private moto server with boto3, as modules/ingest_api creates it.

Same model file, same template files, same selection patterns and gateway responses as the
Terraform module (which loads them from the same paths); each test gets a fresh moto, its own
queue, and a local gateway serving on a free port in a thread.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts.harness.gateway import server
from scripts.harness.stack import aws_session, processes
from scripts.harness.stack.moto_server import MotoServer

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


@pytest.fixture(autouse=True)
def _no_ambient_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "LOCALSTACK_HOST", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    moto_server = MotoServer(tmp_path_factory.mktemp("moto"), port=processes.free_port())
    moto_server.start()
    yield moto_server
    moto_server.stop()


@pytest.fixture
def session(moto: MotoServer) -> Any:
    moto.reset()
    return aws_session.session(aws_session.local_target(moto.endpoint_url))


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


@dataclass
class RunningGateway:
    url: str  # the POST resource
    api: IngestApi

    def received(self) -> list[dict[str, Any]]:
        """Every message on the queue (bodies and attributes), removed from it."""
        sqs = self.api.session.client("sqs")
        messages: list[dict[str, Any]] = []
        while batch := sqs.receive_message(
            QueueUrl=self.api.queue_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", []):
            messages += batch
            sqs.delete_message_batch(
                QueueUrl=self.api.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
                ],
            )
        return messages


@pytest.fixture
def start_gateway() -> Iterator[Callable[..., RunningGateway]]:
    """Serve an API (optionally with another SQS client) on a free port until the test ends."""
    servers: list[server.GatewayHTTPServer] = []

    def start(api: IngestApi, sqs: Any = None) -> RunningGateway:
        gateway = server.from_endpoint(api.session, api.api_id, STAGE)
        if sqs is not None:
            gateway = server.Gateway(gateway.api, sqs, {"registrations": api.queue_url})
        http_server = server.serve(gateway, "127.0.0.1", 0)
        servers.append(http_server)
        threading.Thread(target=http_server.serve_forever, daemon=True).start()
        return RunningGateway(f"{http_server.url}/{STAGE}/registrations", api)

    yield start
    for http_server in servers:
        http_server.shutdown()
        http_server.server_close()


def body(**overrides: Any) -> str:
    document = {
        "user_id": "u-1001",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "registered_at": "2026-01-01T09:00:00Z",
    }
    document.update(overrides)
    return json.dumps({k: v for k, v in document.items() if v is not None}, ensure_ascii=False)
