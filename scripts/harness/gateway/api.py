"""Read a deployed REST API from the endpoint into what the local gateway serves.

moto stores REST APIs (resources, methods, validators, models, integrations, usage plans, keys)
but does not run SQS integrations in server mode. This module reads all of it back through the
API Gateway API, as the AWS console would, and checks that every part is something the gateway
emulates faithfully: an `AWS` integration calling SQS `SendMessage` or a `MOCK` one, templates in
the supported subset (templates.py), API-key or no authorization. Anything else raises
`UnsupportedApiError` with one line saying what and where.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from scripts.harness.gateway.templates import (
    Template,
    TemplateContext,
    UnsupportedTemplateError,
    compile_template,
)

# arn:aws:apigateway:us-east-1:sqs:path/123456789012/queue-name
SQS_PATH_URI = re.compile(
    r"arn:aws[a-z-]*:apigateway:(?P<region>[a-z0-9-]+):sqs:path/(?P<account>\d{12})/(?P<queue>[\w-]+)"
)
# Query parameters of SendMessage a template may produce (MessageAttribute.N.* checked apart).
SEND_MESSAGE_PARAMETERS = frozenset({"Action", "MessageBody", "DelaySeconds"})
MESSAGE_ATTRIBUTE = re.compile(
    r"MessageAttribute\.(\d+)\.(Name|Value\.DataType|Value\.StringValue)"
)
STATIC_VALUE = re.compile(r"'(?P<value>[^']*)'")
FORM_CONTENT_TYPE = "'application/x-www-form-urlencoded'"
MOCK_REQUEST = {"statusCode": 200}


class UnsupportedApiError(Exception):
    """The deployed API uses something the local gateway cannot emulate faithfully."""


@dataclass(frozen=True)
class IntegrationResponse:
    status: int
    selection_pattern: str | None  # None: the default response
    templates: Mapping[str, Template]
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Integration:
    kind: str  # "SQS" or "MOCK"
    request_templates: Mapping[str, Template]
    passthrough_behavior: str
    responses: tuple[IntegrationResponse, ...]
    queue_name: str | None = None
    queue_account: str | None = None

    def select(self, backend_status: int) -> IntegrationResponse | None:
        """API Gateway's rule for non-Lambda integrations: the pattern that matches the status
        code, else the response without a pattern."""
        for response in self.responses:
            pattern = response.selection_pattern
            if pattern is not None and re.fullmatch(pattern, str(backend_status)):
                return response
        return next((r for r in self.responses if r.selection_pattern is None), None)


@dataclass(frozen=True)
class Method:
    http_method: str
    path: str
    api_key_required: bool
    validate_body: bool
    models: Mapping[str, jsonschema.protocols.Validator]
    integration: Integration


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    template: Template
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Throttle:
    rate: float
    burst: int


@dataclass(frozen=True)
class UsagePlan:
    plan_id: str
    throttle: Throttle | None
    quota_limit: int | None
    quota_period: str | None
    key_values: frozenset[str]


@dataclass(frozen=True)
class DeployedApi:
    api_id: str
    name: str
    stage: str
    methods: Mapping[tuple[str, str], Method]
    stage_throttle: Throttle | None
    usage_plans: tuple[UsagePlan, ...]
    gateway_responses: Mapping[str, GatewayResponse] = field(default_factory=dict)

    def plan_for_key(self, key_value: str) -> UsagePlan | None:
        return next((p for p in self.usage_plans if key_value in p.key_values), None)


# API Gateway's built-in gateway responses for the error types the local gateway produces.
DEFAULT_RESPONSE_TYPES = {
    "BAD_REQUEST_BODY": 400,
    "INVALID_API_KEY": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "REQUEST_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "THROTTLED": 429,
    "QUOTA_EXCEEDED": 429,
    "API_CONFIGURATION_ERROR": 500,
}
DEFAULT_ERROR_TEMPLATE = '{"message":$context.error.messageString}'


def load(client: Any, api_id: str, stage: str) -> DeployedApi:
    """Read API `api_id` and its `stage` from the endpoint `client` (boto3 apigateway) talks to."""
    api = client.get_rest_api(restApiId=api_id)
    stage_info = client.get_stage(restApiId=api_id, stageName=stage)
    models = {
        model["name"]: _model_validator(model)
        for model in _items(client.get_models, restApiId=api_id)
    }
    validators = {v["id"]: v for v in _items(client.get_request_validators, restApiId=api_id)}
    methods: dict[tuple[str, str], Method] = {}
    for resource in _items(client.get_resources, restApiId=api_id, embed=["methods"]):
        for http_method, method in resource.get("resourceMethods", {}).items():
            where = f"{http_method} {resource['path']}"
            methods[(http_method, resource["path"])] = _method(
                method, resource["path"], models, validators, where
            )
    return DeployedApi(
        api_id=api_id,
        name=api["name"],
        stage=stage,
        methods=methods,
        stage_throttle=_stage_throttle(stage_info),
        usage_plans=_usage_plans(client, api_id, stage),
        gateway_responses=_gateway_responses(client, api_id),
    )


def find_api_id(client: Any, name: str) -> str:
    """The id of the one REST API called `name`."""
    ids = [api["id"] for api in _items(client.get_rest_apis) if api["name"] == name]
    if len(ids) != 1:
        raise UnsupportedApiError(f"expected one REST API named {name!r}, found {len(ids)}")
    return ids[0]


def _items(operation: Any, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    position = None
    while True:
        page = operation(**kwargs, **({"position": position} if position else {}))
        items += page.get("items", [])
        position = page.get("position")
        if not position:
            return items


def _model_validator(model: Mapping[str, Any]) -> jsonschema.protocols.Validator:
    try:
        schema = json.loads(model.get("schema") or "{}")
        validator_class = jsonschema.validators.validator_for(schema, jsonschema.Draft4Validator)
        if validator_class is not jsonschema.Draft4Validator:
            raise UnsupportedApiError(f"model {model['name']!r}: API Gateway models are draft-04")
        validator_class.check_schema(schema)
    except (ValueError, jsonschema.SchemaError) as error:
        raise UnsupportedApiError(
            f"model {model['name']!r} is not a JSON Schema: {error}"
        ) from None
    return jsonschema.Draft4Validator(schema)


def _method(
    method: Mapping[str, Any],
    path: str,
    models: Mapping[str, jsonschema.protocols.Validator],
    validators: Mapping[str, Mapping[str, Any]],
    where: str,
) -> Method:
    authorization = method.get("authorizationType", "NONE")
    if authorization != "NONE":
        raise UnsupportedApiError(
            f"{where}: authorization {authorization} is not emulated (SigV4 and authorizers need "
            'AWS); use ingest_auth = "api_key" or "none" locally'
        )
    validator = validators.get(method.get("requestValidatorId") or "", {})
    if validator.get("validateRequestParameters"):
        raise UnsupportedApiError(f"{where}: request parameter validation is not emulated")
    request_models = {}
    for content_type, model_name in (method.get("requestModels") or {}).items():
        if model_name not in models:
            raise UnsupportedApiError(f"{where}: model {model_name!r} does not exist")
        request_models[content_type] = models[model_name]
    return Method(
        http_method=method["httpMethod"],
        path=path,
        api_key_required=bool(method.get("apiKeyRequired")),
        validate_body=bool(validator.get("validateRequestBody")),
        models=request_models,
        integration=_integration(method.get("methodIntegration") or {}, where),
    )


def _integration(integration: Mapping[str, Any], where: str) -> Integration:
    kind = integration.get("type")
    try:
        templates = {
            content_type: compile_template(source)
            for content_type, source in (integration.get("requestTemplates") or {}).items()
        }
        responses = tuple(
            _integration_response(response, where)
            for response in (integration.get("integrationResponses") or {}).values()
        )
    except UnsupportedTemplateError as error:
        raise UnsupportedApiError(f"{where}: {error}") from None
    passthrough = integration.get("passthroughBehavior", "WHEN_NO_MATCH")
    if kind == "MOCK":
        for content_type, template in templates.items():
            if _json_or_none(template.source) != MOCK_REQUEST:
                raise UnsupportedApiError(
                    f"{where}: MOCK template for {content_type} must be {json.dumps(MOCK_REQUEST)}"
                )
        return Integration("MOCK", templates, passthrough, responses)
    if kind != "AWS":
        raise UnsupportedApiError(f"{where}: integration type {kind} is not emulated")
    uri = integration.get("uri", "")
    match = SQS_PATH_URI.fullmatch(uri)
    if not match or integration.get("httpMethod") != "POST":
        raise UnsupportedApiError(
            f"{where}: only POST to arn:aws:apigateway:<region>:sqs:path/<account>/<queue> is "
            f"emulated, not {integration.get('httpMethod')} {uri}"
        )
    content_type = (integration.get("requestParameters") or {}).get(
        "integration.request.header.Content-Type"
    )
    if content_type != FORM_CONTENT_TYPE:
        raise UnsupportedApiError(
            f"{where}: the SQS integration must send Content-Type {FORM_CONTENT_TYPE}"
        )
    if passthrough != "NEVER":
        raise UnsupportedApiError(
            f"{where}: passthrough {passthrough} would forward unmapped bodies to SQS; use NEVER"
        )
    for media_type, template in templates.items():
        _check_send_message(template, f"{where} ({media_type})")
    return Integration(
        "SQS",
        templates,
        passthrough,
        responses,
        queue_name=match["queue"],
        queue_account=match["account"],
    )


def _check_send_message(template: Template, where: str) -> None:
    """Render with a sample body: the result must be a SendMessage call this gateway can make."""
    parameters = urllib.parse.parse_qs(
        template.render(TemplateContext(request_id="r", body='{"a": "b & c"}')),
        keep_blank_values=True,
    )
    unknown = {
        name
        for name in parameters
        if name not in SEND_MESSAGE_PARAMETERS and not MESSAGE_ATTRIBUTE.fullmatch(name)
    }
    if parameters.get("Action") != ["SendMessage"] or "MessageBody" not in parameters or unknown:
        raise UnsupportedApiError(
            f"{where}: the template must render Action=SendMessage with MessageBody and "
            f"message attributes only (unsupported: {sorted(unknown) or 'Action/MessageBody'})"
        )


def _integration_response(response: Mapping[str, Any], where: str) -> IntegrationResponse:
    return IntegrationResponse(
        status=int(response["statusCode"]),
        selection_pattern=response.get("selectionPattern") or None,
        templates={
            content_type: compile_template(source)
            for content_type, source in (response.get("responseTemplates") or {}).items()
        },
        headers=_static_headers(response.get("responseParameters") or {}, "method.response", where),
    )


def _static_headers(parameters: Mapping[str, str], prefix: str, where: str) -> dict[str, str]:
    headers = {}
    for name, value in parameters.items():
        match = STATIC_VALUE.fullmatch(value)
        if not name.startswith(f"{prefix}.header.") or not match:
            raise UnsupportedApiError(
                f"{where}: response parameter {name} = {value} is not a static header"
            )
        headers[name.removeprefix(f"{prefix}.header.")] = match["value"]
    return headers


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _stage_throttle(stage: Mapping[str, Any]) -> Throttle | None:
    settings = (stage.get("methodSettings") or {}).get("*/*") or {}
    if "throttlingRateLimit" not in settings:
        return None
    return Throttle(float(settings["throttlingRateLimit"]), int(settings["throttlingBurstLimit"]))


def _usage_plans(client: Any, api_id: str, stage: str) -> tuple[UsagePlan, ...]:
    plans = []
    for plan in _items(client.get_usage_plans):
        if not any(s["apiId"] == api_id and s["stage"] == stage for s in plan.get("apiStages", [])):
            continue
        enabled = {
            key["id"]: key["value"]
            for key in _items(client.get_api_keys, includeValues=True)
            if key.get("enabled")
        }
        key_values = frozenset(
            enabled[key["id"]]
            for key in _items(client.get_usage_plan_keys, usagePlanId=plan["id"])
            if key["id"] in enabled
        )
        throttle = plan.get("throttle")
        quota = plan.get("quota") or {}
        if quota and quota.get("period") != "DAY":
            raise UnsupportedApiError(
                f"usage plan {plan['id']}: only a DAY quota is emulated, not {quota.get('period')}"
            )
        plans.append(
            UsagePlan(
                plan_id=plan["id"],
                throttle=Throttle(float(throttle["rateLimit"]), int(throttle["burstLimit"]))
                if throttle
                else None,
                quota_limit=quota.get("limit"),
                quota_period=quota.get("period"),
                key_values=key_values,
            )
        )
    return tuple(plans)


def _gateway_responses(client: Any, api_id: str) -> dict[str, GatewayResponse]:
    default = compile_template(DEFAULT_ERROR_TEMPLATE)
    responses = {}
    configured = {
        item["responseType"]: item
        for item in _items(client.get_gateway_responses, restApiId=api_id)
    }
    for kind, default_status in DEFAULT_RESPONSE_TYPES.items():
        # A type without its own response inherits DEFAULT_4XX/5XX's body, as on AWS.
        family = "DEFAULT_5XX" if default_status >= 500 else "DEFAULT_4XX"
        response = configured.get(kind) or configured.get(family)
        if response is None:
            responses[kind] = GatewayResponse(default_status, default, {})
            continue
        where = f"gateway response {kind}"
        try:
            template = compile_template(
                (response.get("responseTemplates") or {}).get("application/json")
                or DEFAULT_ERROR_TEMPLATE
            )
        except UnsupportedTemplateError as error:
            raise UnsupportedApiError(f"{where}: {error}") from None
        status = int(response.get("statusCode") or default_status) if kind in configured else None
        headers = _static_headers(
            response.get("responseParameters") or {}, "gatewayresponse", where
        )
        responses[kind] = GatewayResponse(status or default_status, template, headers)
    return responses
