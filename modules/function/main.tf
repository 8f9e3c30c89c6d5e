data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region
  account_id = data.aws_caller_identity.current.account_id

  log_group_name = "/aws/lambda/${var.function_name}"
  zip_exists     = fileexists(var.zip_path)

  # Contract (docs/CONTRACTS.md): names and ARNs only, never a secret value.
  environment_variables = merge(var.extra_environment_variables, {
    TABLE_NAME              = var.table_name
    DB_HOST                 = var.db_host
    DB_PORT                 = tostring(var.db_port)
    DB_NAME                 = var.db_name
    DB_SECRET_ARN           = var.db_secret_arn
    DB_TLS                  = var.db_tls
    DLQ_URL                 = var.dlq_url
    POWERTOOLS_SERVICE_NAME = var.service_name
    POWERTOOLS_LOG_LEVEL    = var.log_level
  })

  minimum_visibility_timeout_seconds = 6 * var.timeout_seconds + var.maximum_batching_window_in_seconds
  peak_database_connections          = var.maximum_concurrency * var.connections_per_invocation

  kms_decrypt_key_arns = distinct(compact([var.queue_kms_key_arn, var.db_secret_kms_key_arn]))

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
# Execution role: each statement scoped to the resources of this stack
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

  statement {
    sid       = "ConsumeSourceQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = [var.queue_arn]
  }

  statement {
    sid       = "ParkInvalidMessages"
    actions   = ["sqs:SendMessage"]
    resources = [var.dlq_arn]
  }

  statement {
    sid       = "WriteUsers"
    actions   = ["dynamodb:PutItem", "dynamodb:GetItem"]
    resources = [var.table_arn]
  }

  statement {
    sid       = "ReadDatabaseCredentials"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.db_secret_arn]
  }

  dynamic "statement" {
    for_each = length(local.kms_decrypt_key_arns) > 0 ? [1] : []

    content {
      sid       = "DecryptWithCustomerKeys"
      actions   = ["kms:Decrypt"]
      resources = local.kms_decrypt_key_arns
    }
  }

  # SendMessage to a queue under a customer managed key needs a data key from it.
  dynamic "statement" {
    for_each = var.queue_kms_key_arn == null ? [] : [var.queue_kms_key_arn]

    content {
      sid       = "EncryptDeadLetters"
      actions   = ["kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }

  # AWSLambdaVPCAccessExecutionRole, with the mutating calls limited to this account and region.
  statement {
    sid       = "DescribeNetworkInterfaces"
    actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
    resources = ["*"]
  }

  statement {
    sid = "ManageNetworkInterfaces"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:*/*"]
  }

  dynamic "statement" {
    for_each = var.tracing_mode == "Active" ? [1] : []

    content {
      sid       = "WriteTraces"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"] # X-Ray has no resource-level permissions for these actions.
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.function_name}-execution"
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
# Function
################################################################################

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Failed messages go to the SQS queue's redrive DLQ; a function-level DLQ only serves asynchronous invocations.
  #checkov:skip=CKV_AWS_272:Code signing needs a Signer profile and a signing step in the build; out of scope for this reference.
  function_name = var.function_name
  description   = "Writes user registrations from SQS into DynamoDB and MySQL"
  role          = aws_iam_role.this.arn

  filename         = var.zip_path
  source_code_hash = local.zip_exists ? filebase64sha256(var.zip_path) : null
  handler          = var.handler
  runtime          = var.runtime
  architectures    = [var.architecture]
  timeout          = var.timeout_seconds
  memory_size      = var.memory_size

  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.environment_kms_key_arn

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  environment {
    variables = local.environment_variables
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
      condition     = length(distinct(var.subnet_ids)) >= 2
      error_message = "The function needs at least two distinct subnets (in distinct Availability Zones)."
    }

    precondition {
      condition     = var.reserved_concurrent_executions == null ? true : var.reserved_concurrent_executions >= var.maximum_concurrency
      error_message = "reserved_concurrent_executions (${coalesce(var.reserved_concurrent_executions, 0)}) is below the event source's maximum_concurrency (${var.maximum_concurrency}): the surplus pollers would only be throttled."
    }
  }
}

################################################################################
# SQS event source mapping
################################################################################

resource "aws_lambda_event_source_mapping" "this" {
  event_source_arn = var.queue_arn
  function_name    = aws_lambda_function.this.arn
  enabled          = var.event_source_mapping_enabled

  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds

  # The handler reports failed message IDs; only those return to the queue.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }

  tags = local.tags

  # The role needs sqs:ReceiveMessage before AWS accepts the mapping.
  depends_on = [aws_iam_role_policy.this]

  lifecycle {
    precondition {
      condition     = var.batch_size <= 10 || var.maximum_batching_window_in_seconds >= 1
      error_message = "batch_size ${var.batch_size} > 10 requires maximum_batching_window_in_seconds >= 1 (an SQS event source rule)."
    }

    precondition {
      condition     = local.peak_database_connections < var.database_max_connections
      error_message = "maximum_concurrency ${var.maximum_concurrency} x ${var.connections_per_invocation} connection(s) per invocation = ${local.peak_database_connections} must stay below the database's max_connections (${var.database_max_connections})."
    }

    precondition {
      condition     = var.queue_visibility_timeout_seconds >= local.minimum_visibility_timeout_seconds
      error_message = "The queue's visibility timeout (${var.queue_visibility_timeout_seconds} s) is below 6 x function timeout + batching window = ${local.minimum_visibility_timeout_seconds} s."
    }
  }
}
