locals {
  # arn:<partition>:sqs:<region>:<account>:<queue>
  queue = {
    partition = split(":", var.queue_arn)[1]
    region    = split(":", var.queue_arn)[3]
    account   = split(":", var.queue_arn)[4]
    name      = split(":", var.queue_arn)[5]
  }

  authorization    = var.auth == "iam" ? "AWS_IAM" : "NONE"
  api_key_required = var.auth == "api_key"
  cors_enabled     = length(var.allowed_origins) > 0
  cors_origin      = local.cors_enabled ? "'${var.allowed_origins[0]}'" : null

  # One file per template: the local gateway's tests create the API from the same files.
  templates = {
    send_message      = trimspace(file("${path.module}/templates/send_message.vtl"))
    accepted          = trimspace(file("${path.module}/templates/accepted.json.vtl"))
    queue_unavailable = trimspace(file("${path.module}/templates/queue_unavailable.json.vtl"))
    queue_refused     = trimspace(file("${path.module}/templates/queue_refused.json.vtl"))
    bad_request_body  = trimspace(file("${path.module}/templates/bad_request_body.json.vtl"))
    error             = trimspace(file("${path.module}/templates/error.json.vtl"))
  }

  # What SQS answers, mapped by status code (AWS integrations match the pattern against it).
  # 2XX is the only way to a 200; SQS unavailable or throttling (5XX) is a retryable 503;
  # anything else (queue gone, access or KMS denied) is a 502. The default response is the
  # 502, so an unforeseen status can never become a 200.
  integration_responses = {
    "200" = { pattern = "2\\d{2}", template = local.templates.accepted }
    "503" = { pattern = "5\\d{2}", template = local.templates.queue_unavailable }
    "502" = { pattern = null, template = local.templates.queue_refused }
  }

  gateway_responses = {
    BAD_REQUEST_BODY = local.templates.bad_request_body
    DEFAULT_4XX      = local.templates.error
    DEFAULT_5XX      = local.templates.error
  }

  cors_method_headers      = local.cors_enabled ? { "method.response.header.Access-Control-Allow-Origin" = true } : {}
  cors_integration_headers = local.cors_enabled ? { "method.response.header.Access-Control-Allow-Origin" = local.cors_origin } : {}

  tags = merge({ "terraform-module" = "ingest_api" }, var.tags)
}

data "aws_iam_policy_document" "assume_by_api_gateway" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

# The integration's role: SendMessage on the one queue, and its key if it has one.
data "aws_iam_policy_document" "send_to_queue" {
  statement {
    sid       = "SendRegistrations"
    actions   = ["sqs:SendMessage"]
    resources = [var.queue_arn]
  }

  dynamic "statement" {
    for_each = var.queue_kms_key_arn == null ? [] : [var.queue_kms_key_arn]

    content {
      sid       = "EncryptForTheQueue"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role" "integration" {
  name_prefix        = "${substr(var.name, 0, 25)}-integration-"
  description        = "API Gateway ${var.name}: SendMessage to ${local.queue.name}"
  assume_role_policy = data.aws_iam_policy_document.assume_by_api_gateway.json

  tags = local.tags
}

resource "aws_iam_role_policy" "send_to_queue" {
  name   = "send-to-queue"
  role   = aws_iam_role.integration.id
  policy = data.aws_iam_policy_document.send_to_queue.json
}

resource "aws_api_gateway_rest_api" "this" {
  name        = var.name
  description = "Registrations over HTTPS: validated against the message contract, enqueued to ${local.queue.name}."

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = local.tags

  # A replaced API gets a new id and URL: the new one exists before the old one goes.
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_resource" "registrations" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "registrations"
}

resource "aws_api_gateway_model" "registration" {
  rest_api_id  = aws_api_gateway_rest_api.this.id
  name         = "Registration"
  description  = "The registration message contract (lambdas/registration/README.md)."
  content_type = "application/json"
  schema       = var.request_schema
}

resource "aws_api_gateway_request_validator" "body" {
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  name                        = "body"
  validate_request_body       = true
  validate_request_parameters = false
}

resource "aws_api_gateway_method" "post" {
  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = aws_api_gateway_resource.registrations.id
  http_method          = "POST"
  authorization        = local.authorization
  api_key_required     = local.api_key_required
  request_validator_id = aws_api_gateway_request_validator.body.id
  request_models       = { "application/json" = aws_api_gateway_model.registration.name }
}

resource "aws_api_gateway_integration" "send_message" {
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_resource.registrations.id
  http_method             = aws_api_gateway_method.post.http_method
  type                    = "AWS"
  integration_http_method = "POST"
  uri                     = "arn:${local.queue.partition}:apigateway:${local.queue.region}:sqs:path/${local.queue.account}/${local.queue.name}"
  credentials             = aws_iam_role.integration.arn

  request_parameters = {
    "integration.request.header.Content-Type" = "'application/x-www-form-urlencoded'"
  }
  # Only application/json has a template: any other content type is a 415, never forwarded.
  passthrough_behavior = "NEVER"
  request_templates = {
    "application/json" = local.templates.send_message
  }
}

resource "aws_api_gateway_method_response" "post" {
  for_each = local.integration_responses

  rest_api_id         = aws_api_gateway_rest_api.this.id
  resource_id         = aws_api_gateway_resource.registrations.id
  http_method         = aws_api_gateway_method.post.http_method
  status_code         = each.key
  response_parameters = local.cors_method_headers
}

resource "aws_api_gateway_integration_response" "post" {
  for_each = local.integration_responses

  rest_api_id         = aws_api_gateway_rest_api.this.id
  resource_id         = aws_api_gateway_resource.registrations.id
  http_method         = aws_api_gateway_method.post.http_method
  status_code         = aws_api_gateway_method_response.post[each.key].status_code
  selection_pattern   = each.value.pattern
  response_templates  = { "application/json" = each.value.template }
  response_parameters = local.cors_integration_headers

  depends_on = [aws_api_gateway_integration.send_message]
}

resource "aws_api_gateway_gateway_response" "this" {
  for_each = local.gateway_responses

  rest_api_id         = aws_api_gateway_rest_api.this.id
  response_type       = each.key
  response_templates  = { "application/json" = each.value }
  response_parameters = local.cors_enabled ? { "gatewayresponse.header.Access-Control-Allow-Origin" = local.cors_origin } : {}
}

# CORS preflight: answered by API Gateway itself (MOCK), no credentials by definition.
resource "aws_api_gateway_method" "options" {
  #checkov:skip=CKV2_AWS_53:a CORS preflight has no body to validate
  count = local.cors_enabled ? 1 : 0

  rest_api_id      = aws_api_gateway_rest_api.this.id
  resource_id      = aws_api_gateway_resource.registrations.id
  http_method      = "OPTIONS"
  authorization    = "NONE" #checkov:skip=CKV_AWS_59:a CORS preflight carries no credentials; it is answered by API Gateway (MOCK) and reaches nothing
  api_key_required = false
}

resource "aws_api_gateway_integration" "options" {
  count = local.cors_enabled ? 1 : 0

  rest_api_id       = aws_api_gateway_rest_api.this.id
  resource_id       = aws_api_gateway_resource.registrations.id
  http_method       = aws_api_gateway_method.options[0].http_method
  type              = "MOCK"
  request_templates = { "application/json" = jsonencode({ statusCode = 200 }) }
}

resource "aws_api_gateway_method_response" "options" {
  count = local.cors_enabled ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.registrations.id
  http_method = aws_api_gateway_method.options[0].http_method
  status_code = "200"
  response_parameters = {
    "method.response.header.Access-Control-Allow-Origin"  = true
    "method.response.header.Access-Control-Allow-Methods" = true
    "method.response.header.Access-Control-Allow-Headers" = true
    "method.response.header.Access-Control-Max-Age"       = true
  }
}

resource "aws_api_gateway_integration_response" "options" {
  count = local.cors_enabled ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.registrations.id
  http_method = aws_api_gateway_method.options[0].http_method
  status_code = aws_api_gateway_method_response.options[0].status_code
  response_parameters = {
    "method.response.header.Access-Control-Allow-Origin"  = local.cors_origin
    "method.response.header.Access-Control-Allow-Methods" = "'POST,OPTIONS'"
    "method.response.header.Access-Control-Allow-Headers" = "'Content-Type,X-Api-Key,Authorization,X-Amz-Date,X-Amz-Security-Token'"
    "method.response.header.Access-Control-Max-Age"       = "'600'"
  }

  depends_on = [aws_api_gateway_integration.options]
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  description = "Registrations ingest API"

  # A deployment is a snapshot: take a new one whenever what it serves changes. Hashed from
  # the configuration (ids, templates, model, settings), not from whole resources, whose
  # refreshed attributes would retrigger a deployment on every plan.
  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_resource.registrations.id,
      aws_api_gateway_method.post.id,
      aws_api_gateway_integration.send_message.id,
      var.request_schema,
      var.auth,
      local.templates,
      local.integration_responses,
      local.gateway_responses,
      local.cors_origin,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [
    aws_api_gateway_integration_response.post,
    aws_api_gateway_integration_response.options,
  ]
}

resource "aws_cloudwatch_log_group" "access" {
  name              = "API-Gateway-Access-Logs_${var.name}/${var.stage_name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.logs_kms_key_arn

  tags = local.tags
}

# Access logging needs the Region's API Gateway CloudWatch role; one per account and Region.
data "aws_iam_policy_document" "assume_for_logs" {
  count = var.manage_account_cloudwatch_role ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cloudwatch" {
  count = var.manage_account_cloudwatch_role ? 1 : 0

  name_prefix        = "${substr(var.name, 0, 19)}-apigw-cloudwatch-"
  description        = "API Gateway (account-wide) writes access and execution logs"
  assume_role_policy = data.aws_iam_policy_document.assume_for_logs[0].json

  tags = local.tags
}

resource "aws_iam_role_policy_attachment" "cloudwatch" {
  count = var.manage_account_cloudwatch_role ? 1 : 0

  role       = aws_iam_role.cloudwatch[0].name
  policy_arn = "arn:${local.queue.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_account_cloudwatch_role ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.cloudwatch[0].arn

  depends_on = [aws_iam_role_policy_attachment.cloudwatch]
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV2_AWS_29:WAF is a per-account choice (web ACL, rules, cost); the API validates bodies, throttles and requires a key or SigV4 by default
  #checkov:skip=CKV2_AWS_51:client certificates authenticate API Gateway to an HTTP backend; this integration is SQS, signed with the role
  rest_api_id          = aws_api_gateway_rest_api.this.id
  deployment_id        = aws_api_gateway_deployment.this.id
  stage_name           = var.stage_name
  xray_tracing_enabled = var.xray_tracing_enabled

  # Caching: POST responses are never cached, and a cache cluster costs by the hour.
  cache_cluster_enabled = false #checkov:skip=CKV_AWS_120:POST /registrations is not cacheable; a cache cluster would only add cost

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      extendedRequestId  = "$context.extendedRequestId"
      ip                 = "$context.identity.sourceIp"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      resourcePath       = "$context.resourcePath"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      apiKeyId           = "$context.identity.apiKeyId"
      errorType          = "$context.error.responseType"
      validationError    = "$context.error.validationErrorString"
      integrationStatus  = "$context.integration.status"
      integrationLatency = "$context.integration.latency"
      latency            = "$context.responseLatency"
    })
  }

  tags = local.tags

  depends_on = [aws_api_gateway_account.this]
}

resource "aws_api_gateway_method_settings" "all" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    throttling_rate_limit  = var.throttle_rate_limit
    throttling_burst_limit = var.throttle_burst_limit
    metrics_enabled        = true
    logging_level          = "ERROR"
    data_trace_enabled     = false # full request logging would put names and e-mails in the logs
    caching_enabled        = false #checkov:skip=CKV_AWS_225:POST /registrations is not cacheable
  }
}

resource "aws_api_gateway_api_key" "this" {
  count = var.auth == "api_key" ? 1 : 0

  name        = var.name
  description = "Producers of ${var.name}; limits in the usage plan of the same name."
  enabled     = true

  tags = local.tags
}

resource "aws_api_gateway_usage_plan" "this" {
  count = var.auth == "api_key" ? 1 : 0

  name        = var.name
  description = "Per-key throttling and daily quota for ${var.name}."

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.this.stage_name
  }

  throttle_settings {
    rate_limit  = var.usage_plan.rate_limit
    burst_limit = var.usage_plan.burst_limit
  }

  quota_settings {
    limit  = var.usage_plan.daily_quota
    period = "DAY"
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.usage_plan.rate_limit <= var.throttle_rate_limit && var.usage_plan.burst_limit <= var.throttle_burst_limit
      error_message = "The usage plan's per-key rate/burst (${var.usage_plan.rate_limit}/${var.usage_plan.burst_limit}) cannot exceed the stage's (${var.throttle_rate_limit}/${var.throttle_burst_limit}): the stage throttles first."
    }
  }
}

resource "aws_api_gateway_usage_plan_key" "this" {
  count = var.auth == "api_key" ? 1 : 0

  key_id        = aws_api_gateway_api_key.this[0].id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this[0].id
}

################################################################################
# Alarms (the stage's CloudWatch metrics; enabled by metrics_enabled above)
################################################################################

locals {
  alarms = var.alarms_enabled ? {
    client-errors = {
      description = "More than ${var.alarm_thresholds.client_error_rate * 100}% of requests answered 4XX: producers send invalid bodies, wrong keys, or exceed their plan."
      metric      = "4XXError"
      statistic   = "Average"
      extended    = null
      threshold   = var.alarm_thresholds.client_error_rate
    }
    server-errors = {
      description = "More than ${var.alarm_thresholds.server_error_rate * 100}% of requests answered 5XX: the queue is unavailable or refuses (502/503)."
      metric      = "5XXError"
      statistic   = "Average"
      extended    = null
      threshold   = var.alarm_thresholds.server_error_rate
    }
    latency = {
      description = "p99 latency above ${var.alarm_thresholds.p99_latency_ms} ms."
      metric      = "Latency"
      statistic   = null
      extended    = "p99"
      threshold   = var.alarm_thresholds.p99_latency_ms
    }
  } : {}
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/ApiGateway"
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  extended_statistic  = each.value.extended
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  dimensions = {
    ApiName = aws_api_gateway_rest_api.this.name
    Stage   = aws_api_gateway_stage.this.stage_name
  }

  tags = local.tags
}
