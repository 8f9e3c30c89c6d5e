"""Serve a deployed REST API locally: the request path API Gateway runs for our POST → SQS API.

For each request, in API Gateway's order: route (stage + resource + method), API key, stage and
usage-plan throttling, daily quota, content type, request body validation against the method's
model (draft-04 JSON Schema, `jsonschema`), the mapping template, the SQS call, the integration
response chosen by its selection pattern and its template. Errors come out as the API's gateway
responses (`{"message": ...}` unless the API configures another body), with the headers API
Gateway sends; never a stack trace.

`Gateway.handle` does the work and is what tests and the benchmark call through HTTP;
`serve` wraps it in a `ThreadingHTTPServer` speaking HTTP/1.1 keep-alive.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema
from botocore.exceptions import BotoCoreError, ClientError

from scripts.harness.gateway.api import DeployedApi, Integration, Method, UsagePlan
from scripts.harness.gateway.limits import DailyQuota, TokenBucket
from scripts.harness.gateway.templates import TemplateContext

LOG = logging.getLogger("local_gateway")
# API Gateway's hard payload limit for REST APIs.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
DEFAULT_CONTENT_TYPE = "application/json"
# The local gateway treats an unreachable endpoint as SQS answering 503 (service unavailable).
UNREACHABLE_STATUS = 503
ERROR_TYPES = {
    "BAD_REQUEST_BODY": ("BadRequestException", "Invalid request body"),
    "INVALID_API_KEY": ("ForbiddenException", "Forbidden"),
    "MISSING_AUTHENTICATION_TOKEN": (
        "MissingAuthenticationTokenException",
        "Missing Authentication Token",
    ),
    "REQUEST_TOO_LARGE": ("RequestTooLongException", "Request Too Long"),
    "UNSUPPORTED_MEDIA_TYPE": ("UnsupportedMediaTypeException", "Unsupported Media Type"),
    "THROTTLED": ("TooManyRequestsException", "Too Many Requests"),
    "QUOTA_EXCEEDED": ("LimitExceededException", "Limit Exceeded"),
    "API_CONFIGURATION_ERROR": ("InternalServerErrorException", "Internal server error"),
}


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class Gateway:
    """One deployed API and stage, with its limits' state, performing SQS integrations."""

    def __init__(self, api: DeployedApi, sqs: Any, queue_urls: Mapping[str, str]) -> None:
        self.api = api
        self._sqs = sqs
        self._queue_urls = queue_urls
        throttle = api.stage_throttle
        self._stage_bucket = TokenBucket(throttle.rate, throttle.burst) if throttle else None
        self._key_buckets: dict[tuple[str, str], TokenBucket] = {}
        self._quotas = {
            plan.plan_id: DailyQuota(plan.quota_limit)
            for plan in api.usage_plans
            if plan.quota_limit is not None
        }

    def handle(
        self, http_method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        request_id = str(uuid.uuid4())
        lowered = {name.lower(): value for name, value in headers.items()}
        path = urllib.parse.urlsplit(target).path
        stage, _, resource = path.lstrip("/").partition("/")
        method = self.api.methods.get((http_method, "/" + resource.rstrip("/")))
        if stage != self.api.stage or method is None:
            return self._error("MISSING_AUTHENTICATION_TOKEN", request_id)
        refused = self._admit(method, lowered.get("x-api-key", ""))
        if refused is None and len(body) > MAX_PAYLOAD_BYTES:
            refused = "REQUEST_TOO_LARGE"
        if refused is not None:
            return self._error(refused, request_id)
        content_type = (lowered.get("content-type") or DEFAULT_CONTENT_TYPE).split(";")[0]
        content_type = content_type.strip().lower()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return self._error("BAD_REQUEST_BODY", request_id, "[body is not UTF-8]")
        invalid = self._invalid_body(method, content_type, text)
        if invalid is not None:
            return self._error("BAD_REQUEST_BODY", request_id, invalid)
        return self._integrate(method.integration, content_type, text, request_id)

    def _admit(self, method: Method, api_key: str) -> str | None:
        """The gateway response type refusing the request before validation, or None."""
        plan: UsagePlan | None = None
        if method.api_key_required:
            plan = self.api.plan_for_key(api_key)
            if plan is None:
                return "INVALID_API_KEY"
        if self._stage_bucket is not None and not self._stage_bucket.take():
            return "THROTTLED"
        if plan is None:
            return None
        if plan.throttle is not None and not self._key_bucket(plan, api_key).take():
            return "THROTTLED"
        quota = self._quotas.get(plan.plan_id)
        if quota is not None and not quota.take(api_key):
            return "QUOTA_EXCEEDED"
        return None

    def _key_bucket(self, plan: UsagePlan, api_key: str) -> TokenBucket:
        bucket = self._key_buckets.get((plan.plan_id, api_key))
        if bucket is None:
            assert plan.throttle is not None
            bucket = self._key_buckets.setdefault(
                (plan.plan_id, api_key), TokenBucket(plan.throttle.rate, plan.throttle.burst)
            )
        return bucket

    @staticmethod
    def _invalid_body(method: Method, content_type: str, text: str) -> str | None:
        """The validator's message, or None when the body passes (or is not validated)."""
        validator = method.models.get(content_type)
        if not method.validate_body or validator is None:
            return None
        try:
            document = json.loads(text)
        except ValueError:
            return "[body is not valid JSON]"
        errors = _explain(list(validator.iter_errors(document)))
        if not errors:
            return None
        return "[" + ", ".join(_describe(error) for error in errors) + "]"

    def _integrate(
        self, integration: Integration, content_type: str, text: str, request_id: str
    ) -> Response:
        template = integration.request_templates.get(content_type)
        if template is None and integration.passthrough_behavior == "NEVER":
            return self._error("UNSUPPORTED_MEDIA_TYPE", request_id)
        context = TemplateContext(request_id=request_id, body=text)
        if integration.kind == "MOCK":
            backend_status, backend_body = 200, None
        else:
            assert template is not None  # passthrough is NEVER for SQS (api.py)
            backend_status, backend_body = self._send_message(
                integration, template.render(context), request_id
            )
        selected = integration.select(backend_status)
        if selected is None:
            return self._error("API_CONFIGURATION_ERROR", request_id)
        response_template = selected.templates.get(DEFAULT_CONTENT_TYPE) or next(
            iter(selected.templates.values()), None
        )
        if response_template is None:
            payload = json.dumps(backend_body) if backend_body is not None else ""
        else:
            payload = response_template.render(
                TemplateContext(request_id=request_id, integration_response=backend_body)
            )
        return Response(
            selected.status,
            payload.encode("utf-8"),
            {
                "Content-Type": DEFAULT_CONTENT_TYPE,
                **selected.headers,
                "x-amzn-RequestId": request_id,
            },
        )

    def _send_message(
        self, integration: Integration, rendered: str, request_id: str
    ) -> tuple[int, Any]:
        """Call SQS as the template says; return (HTTP status, JSON body) as SQS would answer."""
        parameters = urllib.parse.parse_qs(rendered, keep_blank_values=True, strict_parsing=False)
        request: dict[str, Any] = {
            "QueueUrl": self._queue_urls[integration.queue_name or ""],
            "MessageBody": parameters["MessageBody"][0],
        }
        if "DelaySeconds" in parameters:
            request["DelaySeconds"] = int(parameters["DelaySeconds"][0])
        attributes = _message_attributes(parameters)
        if attributes:
            request["MessageAttributes"] = attributes
        try:
            answer = self._sqs.send_message(**request)
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
            LOG.warning("%s SendMessage failed: %s", request_id, error)
            return status, {"Error": error.response.get("Error", {}), "RequestId": request_id}
        except BotoCoreError as error:
            LOG.warning("%s SendMessage did not reach SQS: %s", request_id, error)
            return UNREACHABLE_STATUS, {"Error": {"Code": "ServiceUnavailable"}}
        result = {key: value for key, value in answer.items() if key != "ResponseMetadata"}
        return 200, {
            "SendMessageResponse": {
                "SendMessageResult": result,
                "ResponseMetadata": {"RequestId": answer["ResponseMetadata"].get("RequestId")},
            }
        }

    def _error(self, kind: str, request_id: str, validation_error: str = "") -> Response:
        response = self.api.gateway_responses[kind]
        error_type, message = ERROR_TYPES[kind]
        payload = response.template.render(
            TemplateContext(
                request_id=request_id, error_message=message, validation_error=validation_error
            )
        )
        return Response(
            response.status,
            payload.encode("utf-8"),
            {
                "Content-Type": DEFAULT_CONTENT_TYPE,
                **response.headers,
                "x-amzn-RequestId": request_id,
                "x-amzn-ErrorType": error_type,
            },
        )


def _explain(
    errors: list[jsonschema.ValidationError],
) -> list[jsonschema.ValidationError]:
    """The errors worth telling a client, like API Gateway's list of them.

    For an `anyOf` of shapes, a bare "not valid under any of the given schemas" says nothing:
    report the errors of the shape the body meant, i.e. the branch that did not rule it out
    with `not` (the legacy shape excludes bodies with user_id) and failed least.
    """
    explained = []
    for error in errors:
        if error.validator != "anyOf" or not error.context:
            explained.append(error)
            continue
        branches: dict[int, list[jsonschema.ValidationError]] = {}
        for sub_error in error.context:
            branches.setdefault(int(sub_error.schema_path[0]), []).append(sub_error)
        meant = [b for b in branches.values() if not any(e.validator == "not" for e in b)]
        explained += min(meant, key=len) if meant else [error]
    return explained


def _describe(error: jsonschema.ValidationError) -> str:
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


def _message_attributes(parameters: Mapping[str, list[str]]) -> dict[str, dict[str, str]]:
    attributes = {}
    index = 1
    while f"MessageAttribute.{index}.Name" in parameters:
        prefix = f"MessageAttribute.{index}."
        attributes[parameters[prefix + "Name"][0]] = {
            "DataType": parameters[prefix + "Value.DataType"][0],
            "StringValue": parameters[prefix + "Value.StringValue"][0],
        }
        index += 1
    return attributes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections as with API Gateway
    # Headers and body leave in two writes; with Nagle the second waits for the client's
    # delayed ACK (~40 ms per request on a kept-alive connection).
    disable_nagle_algorithm = True
    server: GatewayHTTPServer

    def _serve(self) -> None:
        started = time.perf_counter()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            self.close_connection = True  # do not read 10 MB we are going to refuse
            body = b"x" * (MAX_PAYLOAD_BYTES + 1)
        else:
            body = self.rfile.read(length) if length else b""
        try:
            response = self.server.gateway.handle(self.command, self.path, dict(self.headers), body)
        except Exception:
            # A bug here must look like API Gateway's 500 to the client; the trace goes to the log.
            LOG.exception("unexpected error serving %s %s", self.command, self.path)
            response = Response(
                500,
                b'{"message": "Internal server error"}',
                {"Content-Type": DEFAULT_CONTENT_TYPE, "x-amzn-ErrorType": "InternalServerError"},
            )
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)
        LOG.info(
            json.dumps(
                {
                    "requestId": response.headers.get("x-amzn-RequestId"),
                    "ip": self.client_address[0],
                    "httpMethod": self.command,
                    "resourcePath": self.path,
                    "status": response.status,
                    "responseLength": len(response.body),
                    "latencyMs": round((time.perf_counter() - started) * 1000, 2),
                }
            )
        )

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def log_message(self, format: str, *args: object) -> None:
        """The access log line above replaces http.server's stderr line."""


class GatewayHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        super().__init__(address, _Handler)
        self.gateway = gateway

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def serve(gateway: Gateway, host: str, port: int) -> GatewayHTTPServer:
    """A bound server (not yet serving): call ``serve_forever()`` on it."""
    return GatewayHTTPServer((host, port), gateway)


def from_endpoint(session: Any, api_id: str, stage: str) -> Gateway:
    """Load `api_id`/`stage` through `session` (boto3-like) and resolve the queues it sends to.

    The SQS client does not retry: API Gateway makes one call per request and maps its answer.
    """
    from botocore.config import Config  # noqa: PLC0415 (botocore is only needed here)

    from scripts.harness.gateway import api as api_model  # noqa: PLC0415

    deployed = api_model.load(session.client("apigateway"), api_id, stage)
    sqs = session.client(
        "sqs",
        config=Config(
            retries={"total_max_attempts": 1},
            connect_timeout=2,
            read_timeout=10,
            max_pool_connections=32,
        ),
    )
    queue_urls = {}
    for method in deployed.methods.values():
        integration = method.integration
        if integration.kind == "SQS" and integration.queue_name not in queue_urls:
            try:
                queue_urls[integration.queue_name] = sqs.get_queue_url(
                    QueueName=integration.queue_name,
                    QueueOwnerAWSAccountId=integration.queue_account,
                )["QueueUrl"]
            except ClientError as error:
                raise api_model.UnsupportedApiError(
                    f"{method.http_method} {method.path}: queue {integration.queue_name} "
                    f"cannot be found ({error.response.get('Error', {}).get('Code')})"
                ) from None
    return Gateway(deployed, sqs, queue_urls)
