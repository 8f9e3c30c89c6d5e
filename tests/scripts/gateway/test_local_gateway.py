"""The local gateway through HTTP: what reaches the queue, and API Gateway's answer to bad input.

Each test posts with `requests` to a gateway serving an API created in moto like the Terraform
module creates it (conftest.py), then reads the queue back: an accepted registration is there
byte for byte with its attributes, a refused one left nothing behind.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from botocore.config import Config

import scripts.local_gateway
from scripts.harness.gateway import api as api_model
from scripts.harness.gateway import server
from scripts.harness.stack import aws_session
from tests.scripts.gateway.conftest import body
from tests.scripts.gateway.support import STAGE, create_ingest_api

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}


def post(url: str, data: str | bytes, key: str | None, **headers: str) -> requests.Response:
    sent = {**JSON, **({"x-api-key": key} if key else {}), **headers}
    return requests.post(
        url, data=data if isinstance(data, bytes) else data.encode(), headers=sent, timeout=10
    )


def assert_api_gateway_error(response: requests.Response, status: int, message: str) -> None:
    """API Gateway's error shape: JSON with a message, request id headers, no stack trace."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["x-amzn-RequestId"]
    assert response.headers["x-amzn-ErrorType"]
    document = response.json()
    assert document["message"] == message
    assert "Traceback" not in response.text


def test_accepted_registration_is_on_the_queue_unchanged_with_its_attributes(
    session: Any, start_gateway: Any
) -> None:
    gateway = start_gateway(create_ingest_api(session))
    sent = body()
    response = post(gateway.url, sent, gateway.api.api_key)
    assert response.status_code == 200, response.text
    message_id = response.json()["messageId"]
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    (message,) = gateway.received()
    assert message["MessageId"] == message_id
    assert message["Body"] == sent
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {"source": "http", "api_request_id": response.headers["x-amzn-RequestId"]}


def test_hostile_name_is_enqueued_verbatim(session: Any, start_gateway: Any) -> None:
    gateway = start_gateway(create_ingest_api(session))
    hostile = "Robert'); DROP TABLE users;-- \u202eevil\u202c 😀 & %20 + <script>"
    sent = body(name=hostile)
    response = post(gateway.url, sent, gateway.api.api_key)
    assert response.status_code == 200, response.text
    (message,) = gateway.received()
    assert message["Body"] == sent
    assert json.loads(message["Body"])["name"] == hostile


def test_legacy_shape_with_a_string_id_is_accepted(session: Any, start_gateway: Any) -> None:
    gateway = start_gateway(create_ingest_api(session))
    response = post(gateway.url, '{"CustID": "7002", "Name": "Martha Rivera"}', gateway.api.api_key)
    assert response.status_code == 200, response.text
    assert len(gateway.received()) == 1


@pytest.mark.parametrize(
    ("data", "validation_error"),
    [
        ('{"user_id": "u-1", "name": ', "[body is not valid JSON]"),
        ("[1, 2]", "[[1, 2] is not of type 'object']"),
        (body(registered_at=None), "['registered_at' is a required property]"),
        (body(email="ada.example.com"), "[email: 'ada.example.com' does not match "),
        (body(note="x" * 10_240), "[note: 'xxxxxxxxxx"),
        (body(name="x" * 10_240), "[name: 'xxxxxxxxxx"),
    ],
    ids=["not-json", "not-an-object", "missing-field", "bad-email", "10-kb-extra", "10-kb-name"],
)
def test_invalid_body_is_400_with_the_validators_message_and_not_enqueued(
    session: Any, start_gateway: Any, data: str, validation_error: str
) -> None:
    gateway = start_gateway(create_ingest_api(session))
    response = post(gateway.url, data, gateway.api.api_key)
    assert_api_gateway_error(response, 400, "Invalid request body")
    detail = response.json()["validationError"]
    assert detail.startswith(validation_error), detail
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert gateway.received() == []


def test_wrong_content_type_is_415(session: Any, start_gateway: Any) -> None:
    gateway = start_gateway(create_ingest_api(session))
    response = post(gateway.url, body(), gateway.api.api_key, **{"Content-Type": "text/plain"})
    assert_api_gateway_error(response, 415, "Unsupported Media Type")
    assert gateway.received() == []


@pytest.mark.parametrize("key", [None, "not-the-key"], ids=["missing", "wrong"])
def test_missing_or_wrong_api_key_is_403(session: Any, start_gateway: Any, key: str | None) -> None:
    gateway = start_gateway(create_ingest_api(session))
    response = post(gateway.url, body(), key)
    assert_api_gateway_error(response, 403, "Forbidden")
    assert gateway.received() == []


def test_no_key_needed_when_auth_is_none(session: Any, start_gateway: Any) -> None:
    gateway = start_gateway(create_ingest_api(session, auth="none"))
    assert post(gateway.url, body(), None).status_code == 200


def test_over_the_usage_plans_quota_is_429(session: Any, start_gateway: Any) -> None:
    gateway = start_gateway(create_ingest_api(session, quota=2))
    statuses = [post(gateway.url, body(), gateway.api.api_key).status_code for _ in range(3)]
    assert statuses[:2] == [200, 200]
    refused = post(gateway.url, body(), gateway.api.api_key)
    assert_api_gateway_error(refused, 429, "Limit Exceeded")
    assert len(gateway.received()) == 2


def test_over_the_usage_plans_burst_is_429(session: Any, start_gateway: Any) -> None:
    # rate 0.001/s: the bucket does not refill during the test, so exactly `burst` pass.
    gateway = start_gateway(create_ingest_api(session, rate=0.001, burst=3))
    responses = [post(gateway.url, body(), gateway.api.api_key) for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert_api_gateway_error(responses[-1], 429, "Too Many Requests")
    assert len(gateway.received()) == 3


def test_unknown_route_is_api_gateways_403(session: Any, start_gateway: Any) -> None:
    gateway = start_gateway(create_ingest_api(session))
    response = requests.get(gateway.url, timeout=10)
    assert_api_gateway_error(response, 403, "Missing Authentication Token")


class _Unavailable(BaseHTTPRequestHandler):
    """Answers every SQS call as SQS does when it cannot serve: 503 ServiceUnavailable."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        payload = json.dumps(
            {"__type": "com.amazonaws.sqs#ServiceUnavailable", "message": "unavailable"}
        ).encode()
        self.send_response(503)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("x-amzn-query-error", "ServiceUnavailable;Receiver")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_queue_unavailable_is_503_and_nothing_is_enqueued(session: Any, start_gateway: Any) -> None:
    api = create_ingest_api(session)
    unavailable = ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    threading.Thread(target=unavailable.serve_forever, daemon=True).start()
    try:
        host, port = unavailable.server_address[:2]
        sqs = aws_session.session(aws_session.local_target(f"http://{host}:{port}")).client(
            "sqs", config=Config(retries={"total_max_attempts": 1})
        )
        gateway = start_gateway(api, sqs=sqs)
        response = post(gateway.url, body(), api.api_key)
    finally:
        unavailable.shutdown()
        unavailable.server_close()
    assert response.status_code == 503, response.text
    assert response.json()["message"].startswith("The queue is unavailable")
    assert "Traceback" not in response.text
    assert gateway.received() == []


def test_deleted_queue_is_502_never_200(session: Any, start_gateway: Any) -> None:
    api = create_ingest_api(session)
    gateway = start_gateway(api)
    session.client("sqs").delete_queue(QueueUrl=api.queue_url)
    response = post(gateway.url, body(), api.api_key)
    assert response.status_code == 502, response.text
    assert response.json()["message"].startswith("The queue refused")


def test_integration_type_it_cannot_emulate_is_refused_in_one_line(session: Any) -> None:
    api = create_ingest_api(session)
    resource = next(
        r["id"] for r in api.client.get_resources(restApiId=api.api_id)["items"] if r["path"] != "/"
    )
    api.client.put_integration(
        restApiId=api.api_id,
        resourceId=resource,
        httpMethod="POST",
        type="HTTP_PROXY",
        integrationHttpMethod="POST",
        uri="https://example.com/",
    )
    with pytest.raises(api_model.UnsupportedApiError, match=r"integration type HTTP_PROXY") as info:
        server.from_endpoint(session, api.api_id, STAGE)
    assert "\n" not in str(info.value)


def test_template_it_cannot_render_is_refused(session: Any) -> None:
    api = create_ingest_api(session)
    resource = next(
        r["id"] for r in api.client.get_resources(restApiId=api.api_id)["items"] if r["path"] != "/"
    )
    api.client.put_integration(
        restApiId=api.api_id,
        resourceId=resource,
        httpMethod="POST",
        type="AWS",
        integrationHttpMethod="POST",
        uri="arn:aws:apigateway:us-east-1:sqs:path/123456789012/registrations",
        requestParameters={
            "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"
        },
        requestTemplates={
            "application/json": "#set($b = $input.body)Action=SendMessage&MessageBody=$b"
        },
        passthroughBehavior="NEVER",
    )
    with pytest.raises(api_model.UnsupportedApiError, match=r"directive '#set'"):
        server.from_endpoint(session, api.api_id, STAGE)


def test_cli_reports_an_unknown_api_in_one_line(
    moto: Any, session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--endpoint-url", moto.endpoint_url, "--api-id", "nope", "--stage", STAGE]
    assert scripts.local_gateway.run(argv) == 1
    error = capsys.readouterr().err
    assert error.startswith("local_gateway: ")
    assert error.count("\n") == 1
    assert "Traceback" not in error


def test_cli_refuses_an_api_it_cannot_emulate_in_one_line(
    moto: Any, session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    api = create_ingest_api(session)
    session.client("sqs").delete_queue(QueueUrl=api.queue_url)
    argv = ["--endpoint-url", moto.endpoint_url, "--api-id", api.api_id, "--stage", STAGE]
    assert scripts.local_gateway.run(argv) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"local_gateway: cannot emulate API {api.api_id}: POST /registrations")
    assert error.count("\n") == 1


def test_cors_preflight_is_answered_without_a_key(session: Any, start_gateway: Any) -> None:
    gateway = start_gateway(create_ingest_api(session))
    response = requests.options(
        gateway.url,
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert response.headers["Access-Control-Allow-Methods"] == "POST,OPTIONS"
    assert "X-Api-Key" in response.headers["Access-Control-Allow-Headers"]
    assert gateway.received() == []


def test_iam_authorization_is_refused_not_waved_through(session: Any) -> None:
    api = create_ingest_api(session)
    resource = next(
        r["id"] for r in api.client.get_resources(restApiId=api.api_id)["items"] if r["path"] != "/"
    )
    api.client.put_method(
        restApiId=api.api_id, resourceId=resource, httpMethod="POST", authorizationType="AWS_IAM"
    )
    with pytest.raises(
        api_model.UnsupportedApiError, match="authorization AWS_IAM is not emulated"
    ):
        server.from_endpoint(session, api.api_id, STAGE)
