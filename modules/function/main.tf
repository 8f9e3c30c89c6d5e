data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region
  account_id = data.aws_caller_identity.current.account_id

  log_group_name = "/aws/lambda/${var.function_name}"
  zip_exists     = fileexists(var.zip_path)
  in_vpc         = var.vpc_config != null
  event_source   = var.sqs_event_source

  minimum_visibility_timeout_seconds = local.event_source == null ? 0 : 6 * var.timeout_seconds + local.event_source.maximum_batching_window_in_seconds

  # IAM role names are account-global: a prefix lets the same stack live in a second Region.
  role_name_prefix = "${substr(var.function_name, 0, 37)}-"

  tags = merge({ "terraform-module" = "function" }, var.tags)
}

################################################################################
# Log group (created before the function so Lambda never creates one without retention)
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.logs_kms_key_arn

  tags = local.tags
}

################################################################################
# Execution role: the caller's statements plus what every function of this kind needs
################################################################################

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  # AWSLambdaVPCAccessExecutionRole, with the mutating calls limited to this account and Region.
  dynamic "statement" {
    for_each = local.in_vpc ? [1] : []

    content {
      sid       = "DescribeNetworkInterfaces"
      actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
      resources = ["*"] # Describe calls have no resource-level permissions.
    }
  }

  dynamic "statement" {
    for_each = local.in_vpc ? [1] : []

    content {
      sid = "ManageNetworkInterfaces"
      actions = [
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
      ]
      resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:*/*"]
    }
  }

  dynamic "statement" {
    for_each = var.tracing_mode == "Active" ? [1] : []

    content {
      sid       = "WriteTraces"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"] # X-Ray has no resource-level permissions for these actions.
    }
  }

  # The event source mapping polls with the function's role.
  dynamic "statement" {
    for_each = local.event_source == null ? [] : [local.event_source.queue_arn]

    content {
      sid       = "ConsumeSourceQueue"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = try(local.event_source.queue_kms_key_arn, null) == null ? [] : [local.event_source.queue_kms_key_arn]

    content {
      sid       = "DecryptSourceQueue"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.policy_statements

    content {
      sid       = statement.key
      effect    = statement.value.effect
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = local.role_name_prefix
  description        = "Execution role of the ${var.function_name} Lambda function"
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = local.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "least-privilege"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

################################################################################
# Function: every apply that changes code or configuration publishes a version
################################################################################

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Queue-fed functions use the queue's redrive DLQ; a function-level DLQ only serves asynchronous invocations.
  #checkov:skip=CKV_AWS_272:Code signing needs a Signer profile and a signing step in the build; out of scope for this reference.
  #checkov:skip=CKV_AWS_117:vpc_config is an input: every function of this stack passes one, a caller outside a VPC decides so deliberately.
  function_name = var.function_name
  description   = var.description
  role          = aws_iam_role.this.arn

  filename         = var.zip_path
  source_code_hash = local.zip_exists ? filebase64sha256(var.zip_path) : null
  handler          = var.handler
  runtime          = var.runtime
  architectures    = [var.architecture]
  timeout          = var.timeout_seconds
  memory_size      = var.memory_size
  publish          = true

  ephemeral_storage {
    size = var.ephemeral_storage_size
  }

  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.environment_kms_key_arn

  dynamic "vpc_config" {
    for_each = local.in_vpc ? [var.vpc_config] : []

    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  dynamic "environment" {
    for_each = length(var.environment_variables) > 0 ? [1] : []

    content {
      variables = var.environment_variables
    }
  }

  dynamic "logging_config" {
    for_each = var.manage_logging_config ? [1] : []

    content {
      log_format            = "JSON"
      log_group             = aws_cloudwatch_log_group.this.name
      application_log_level = var.log_level
      system_log_level      = "INFO"
    }
  }

  tracing_config {
    mode = var.tracing_mode
  }

  tags = local.tags

  # The log group must exist first (or Lambda creates one without retention), and the role's
  # policy too: CreateFunction checks the ENI permissions of the role.
  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.this,
  ]

  lifecycle {
    precondition {
      condition     = local.zip_exists
      error_message = "Deployment package ${var.zip_path} not found: run `make package` first."
    }

    precondition {
      condition     = !local.in_vpc || length(distinct(try(var.vpc_config.subnet_ids, []))) >= 2
      error_message = "In a VPC the function needs at least two distinct subnets (in distinct Availability Zones)."
    }

    precondition {
      condition     = var.reserved_concurrent_executions == null || try(local.event_source.maximum_concurrency, null) == null ? true : var.reserved_concurrent_executions >= local.event_source.maximum_concurrency
      error_message = "reserved_concurrent_executions is below the event source's maximum_concurrency: the surplus pollers would only be throttled."
    }
  }
}

# Traffic goes to the alias, never to $LATEST. After the first apply the release command
# (`make release`) owns which version it points at and any canary weight, so Terraform must not
# move it back: see README.md.
resource "aws_lambda_alias" "live" {
  name             = "live"
  description      = "What the event sources invoke; moved by the release command"
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version

  lifecycle {
    ignore_changes = [function_version, routing_config]
  }
}

################################################################################
# SQS event source mapping (optional), on the alias
################################################################################

resource "aws_lambda_event_source_mapping" "sqs" {
  count = local.event_source == null ? 0 : 1

  event_source_arn = local.event_source.queue_arn
  function_name    = aws_lambda_alias.live.arn
  enabled          = local.event_source.enabled

  batch_size                         = local.event_source.batch_size
  maximum_batching_window_in_seconds = local.event_source.maximum_batching_window_in_seconds
  function_response_types            = local.event_source.report_batch_item_failures ? ["ReportBatchItemFailures"] : []

  dynamic "scaling_config" {
    for_each = local.event_source.maximum_concurrency == null ? [] : [local.event_source.maximum_concurrency]

    content {
      maximum_concurrency = scaling_config.value
    }
  }

  dynamic "filter_criteria" {
    for_each = length(local.event_source.filter_patterns) > 0 ? [1] : []

    content {
      dynamic "filter" {
        for_each = local.event_source.filter_patterns

        content {
          pattern = filter.value
        }
      }
    }
  }

  tags = local.tags

  # The role needs sqs:ReceiveMessage before AWS accepts the mapping.
  depends_on = [aws_iam_role_policy.this]

  lifecycle {
    precondition {
      condition     = local.event_source.batch_size <= 10 || local.event_source.maximum_batching_window_in_seconds >= 1
      error_message = "batch_size ${local.event_source.batch_size} > 10 requires maximum_batching_window_in_seconds >= 1 (an SQS event source rule)."
    }

    precondition {
      condition     = local.event_source.queue_visibility_timeout_seconds >= local.minimum_visibility_timeout_seconds
      error_message = "The queue's visibility timeout (${local.event_source.queue_visibility_timeout_seconds} s) is below 6 x function timeout + batching window = ${local.minimum_visibility_timeout_seconds} s."
    }
  }
}
