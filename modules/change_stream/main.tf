data "aws_caller_identity" "current" {}

locals {
  tags = merge({ "terraform-module" = "change_stream" }, var.tags)

  encryption_key_statements = var.kms_key_arn == null ? {} : {
    UseLakeKey = {
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [var.kms_key_arn]
    }
  }

  # The two consumers of the stream (one zip, two handlers): every change into the lake, and
  # counts per tumbling window. What differs between them; the rest is the same call below.
  functions = {
    changes = {
      function_name = "${var.name}-changes"
      description   = "Writes every change of the users table into the lake"
      handler       = "changes.app.lambda_handler"
      service_name  = "changes"
      window        = var.maximum_batching_window_in_seconds
      tumbling      = null
      policy_statements = {
        WriteChanges = {
          actions   = ["s3:PutObject"]
          resources = ["${module.lake.arn}/registrations/*"]
        }
      }
    }
    counts = {
      function_name = "${var.name}-change-counts"
      description   = "Counts registrations and updates per tumbling window of the users table's stream"
      handler       = "changes.windows.lambda_handler"
      service_name  = "change-counts"
      window        = null
      tumbling      = var.tumbling_window_in_seconds
      policy_statements = {
        WriteCounts = {
          actions   = ["s3:PutObject"]
          resources = ["${module.lake.arn}/counts/*"]
        }
        # PutMetricData has no resource-level permissions: the namespace condition is the scope.
        PublishCounts = {
          actions   = ["cloudwatch:PutMetricData"]
          resources = ["*"]
          conditions = [{
            test     = "StringEquals"
            variable = "cloudwatch:namespace"
            values   = ["Registrations"]
          }]
        }
      }
    }
  }

  # Each function's mapping on its alias `live`, by the same key. On AWS each is an event source
  # mapping; against an emulated endpoint moto would invoke any stream mapping itself (through
  # Docker) on every table write, so the same settings are published in SSM for the local runner
  # instead (scripts/harness/lambda_local/mappings.py).
  mappings = {
    for key, function in local.functions : key => {
      function_arn = module.function[key].alias_arn
      batch_size   = var.batch_size
      window       = function.window
      tumbling     = function.tumbling
    }
  }
}

# ---------------------------------------------------------------------------------------------
# The lake: private, encrypted, versioned, TLS only; old versions and (optionally) old rows expire.
# ---------------------------------------------------------------------------------------------
module "lake" {
  source = "../private_bucket"

  name_prefix     = "${var.name}-lake-"
  force_destroy   = var.lake_force_destroy
  kms_key_arn     = var.kms_key_arn
  tls_only_policy = var.tls_only_bucket_policy

  # A retried batch overwrites its object: the old version goes after a while.
  lifecycle_rules = [{
    id                                     = "expire-overwritten-batches"
    expiration_days                        = var.lake_expiration_days
    noncurrent_version_expiration_days     = var.lake_noncurrent_version_expiration_days
    abort_incomplete_multipart_upload_days = 1
  }]

  tags = local.tags
}

# ---------------------------------------------------------------------------------------------
# Where a batch goes that failed every retry or aged out: its metadata, not its records.
# ---------------------------------------------------------------------------------------------
resource "aws_sqs_queue" "failures" {
  name                      = "${var.name}-change-failures"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = var.kms_key_arn == null ? true : null
  kms_master_key_id         = var.kms_key_arn
  tags                      = local.tags
}

# ---------------------------------------------------------------------------------------------
# The two functions (one zip, two handlers), each behind its alias `live`.
# ---------------------------------------------------------------------------------------------
module "function" {
  source   = "../function"
  for_each = local.functions

  function_name   = each.value.function_name
  description     = each.value.description
  zip_path        = var.zip_path
  handler         = each.value.handler
  timeout_seconds = var.timeout_seconds
  memory_size     = var.memory_size

  environment_variables = merge(var.environment_variables, {
    LAKE_BUCKET             = module.lake.name
    POWERTOOLS_SERVICE_NAME = each.value.service_name
  })

  policy_statements = merge(local.encryption_key_statements, each.value.policy_statements, {
    ReadStream = {
      actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
      resources = [var.table_stream_arn]
    }
    ReportFailedBatches = {
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.failures.arn]
    }
  })

  manage_logging_config = var.manage_logging_config
  log_retention_in_days = var.log_retention_in_days
  logs_kms_key_arn      = var.logs_kms_key_arn
  tags                  = local.tags
}

resource "aws_lambda_event_source_mapping" "stream" {
  for_each = var.publish_mappings_for_local_runner ? {} : local.mappings

  event_source_arn                   = var.table_stream_arn
  function_name                      = each.value.function_arn
  starting_position                  = "TRIM_HORIZON"
  batch_size                         = each.value.batch_size
  maximum_batching_window_in_seconds = each.value.window
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = var.maximum_retry_attempts
  maximum_record_age_in_seconds      = var.maximum_record_age_in_seconds
  tumbling_window_in_seconds         = each.value.tumbling
  function_response_types            = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.failures.arn
    }
  }

  tags = local.tags
}

resource "aws_ssm_parameter" "local_mapping" {
  #checkov:skip=CKV2_AWS_34:a mapping's settings for the local runner, no secret; exists only against an emulated endpoint
  for_each = var.publish_mappings_for_local_runner ? local.mappings : {}

  name        = "/lambda-local/event-source-mappings/${var.name}-${each.key}"
  description = "The stream mapping an emulated endpoint cannot hold, for the local runner"
  type        = "String"
  value = jsonencode({
    UUID                           = "local-${var.name}-${each.key}"
    EventSourceArn                 = var.table_stream_arn
    FunctionArn                    = each.value.function_arn
    BatchSize                      = each.value.batch_size
    MaximumBatchingWindowInSeconds = coalesce(each.value.window, 0)
    StartingPosition               = "TRIM_HORIZON"
    BisectBatchOnFunctionError     = true
    MaximumRetryAttempts           = var.maximum_retry_attempts
    MaximumRecordAgeInSeconds      = var.maximum_record_age_in_seconds
    TumblingWindowInSeconds        = each.value.tumbling
    FunctionResponseTypes          = ["ReportBatchItemFailures"]
    DestinationConfig              = { OnFailure = { Destination = aws_sqs_queue.failures.arn } }
    State                          = "Disabled"
  })
  tags = local.tags
}

# ---------------------------------------------------------------------------------------------
# Athena reads the lake through Glue: one table, partitions projected from the date in the path.
# ---------------------------------------------------------------------------------------------
resource "aws_glue_catalog_database" "lake" {
  count = var.glue_catalog_enabled ? 1 : 0

  catalog_id  = data.aws_caller_identity.current.account_id
  name        = replace("${var.name}_lake", "-", "_")
  description = "Registration changes from the users table's stream"
  tags        = local.tags
}

resource "aws_glue_catalog_table" "changes" {
  count = var.glue_catalog_enabled ? 1 : 0

  catalog_id    = data.aws_caller_identity.current.account_id
  name          = "changes"
  database_name = aws_glue_catalog_database.lake[0].name
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    "classification"              = "json"
    "compressionType"             = "gzip"
    "projection.enabled"          = "true"
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy-MM-dd"
    "projection.dt.range"         = "${var.lake_first_day},NOW"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
    "storage.location.template"   = "s3://${module.lake.name}/registrations/dt=$${dt}/"
  }

  partition_keys {
    name = "dt"
    type = "string"
  }

  storage_descriptor {
    location      = "s3://${module.lake.name}/registrations/"
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      serialization_library = "org.openx.data.jsonserde.JsonSerDe"
    }

    dynamic "columns" {
      for_each = [
        ["user_id", "string"],
        ["change", "string"],
        ["changed_fields", "array<string>"],
        ["old_version", "string"],
        ["new_version", "string"],
        ["registered_at", "string"],
        ["source", "string"],
        ["event_time", "string"],
        ["sequence_number", "string"],
      ]
      content {
        name = columns.value[0]
        type = columns.value[1]
      }
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Alarms: the lake falling behind the table, and batches given up on.
# ---------------------------------------------------------------------------------------------
resource "aws_cloudwatch_metric_alarm" "iterator_age" {
  count = var.alarms_enabled ? 1 : 0

  alarm_name          = "${var.name}-changes-iterator-age"
  alarm_description   = "The lake is more than ${var.iterator_age_alarm_seconds} s behind the users table"
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = module.function["changes"].function_name, Resource = "${module.function["changes"].function_name}:${module.function["changes"].alias_name}" }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.iterator_age_alarm_seconds * 1000
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "failed_batches" {
  count = var.alarms_enabled ? 1 : 0

  alarm_name          = "${var.name}-change-failures"
  alarm_description   = "A batch of the users table's stream was given up on: its metadata is in ${aws_sqs_queue.failures.name}"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.failures.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}
