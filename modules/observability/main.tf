data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  region     = data.aws_region.current.region
  account_id = data.aws_caller_identity.current.account_id

  create_topic_key = var.create_sns_topic && var.sns_kms_key_arn == null
  topic_kms_key    = local.create_topic_key ? aws_kms_key.alarms[0].arn : var.sns_kms_key_arn
  alarm_actions    = concat(aws_sns_topic.alarms[*].arn, var.alarm_topic_arns)

  db_connections_threshold = floor(var.db_max_connections * var.db_connections_alarm_percent / 100)

  # Lambda's metrics of the alias: the queue's traffic, whichever versions the alias routes to.
  alias_resource     = "${var.function_name}:${var.function_alias_name}"
  alias_dimensions   = { FunctionName = var.function_name, Resource = local.alias_resource }
  handler_dimensions = { service = var.handler_metrics_service }

  tags = merge({ "terraform-module" = "observability" }, var.tags)
}

################################################################################
# Notification topic
################################################################################

# CloudWatch alarms cannot publish to a topic under the AWS managed key aws/sns: a customer
# managed key whose policy admits cloudwatch.amazonaws.com is required.
data "aws_iam_policy_document" "alarms_key" {
  count = local.create_topic_key ? 1 : 0

  #checkov:skip=CKV_AWS_109:A key policy must name the key itself as "*"; administration stays with the account root.
  #checkov:skip=CKV_AWS_111:A key policy must name the key itself as "*"; write access stays with the account root.
  #checkov:skip=CKV_AWS_356:In a key policy "*" means this key only.
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "SnsUse"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "alarms" {
  count = local.create_topic_key ? 1 : 0

  description             = "${var.name}: encrypts the alarm notification topic"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.alarms_key[0].json

  tags = local.tags
}

resource "aws_kms_alias" "alarms" {
  count = local.create_topic_key ? 1 : 0

  name          = "alias/${var.name}-alarms"
  target_key_id = aws_kms_key.alarms[0].key_id
}

resource "aws_sns_topic" "alarms" {
  count = var.create_sns_topic ? 1 : 0

  name              = "${var.name}-alarms"
  kms_master_key_id = local.topic_kms_key

  tags = local.tags
}

resource "aws_sns_topic_subscription" "email" {
  count = var.create_sns_topic && var.alarm_email != null ? 1 : 0

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

################################################################################
# Alarms
################################################################################

locals {
  alarms = {
    dlq-messages-visible = {
      description = "Messages are waiting in the dead-letter queue ${var.dlq_name}: inspect failure_reason and redrive or discard them."
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = var.dlq_name }
      statistic   = "Maximum"
      period      = 60
      evaluations = 1
      threshold   = 0
      comparison  = "GreaterThanThreshold"
    }
    queue-oldest-message-age = {
      description = "The oldest message in ${var.queue_name} is older than ${var.queue_age_alarm_seconds} s: the function is not keeping up or not polling."
      namespace   = "AWS/SQS"
      metric_name = "ApproximateAgeOfOldestMessage"
      dimensions  = { QueueName = var.queue_name }
      statistic   = "Maximum"
      period      = 60
      evaluations = 5
      threshold   = var.queue_age_alarm_seconds
      comparison  = "GreaterThanThreshold"
    }
    function-errors = {
      description = "${var.function_name} failed invocations (whole batches returned to the queue)."
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      dimensions  = { FunctionName = var.function_name }
      statistic   = "Sum"
      period      = 300
      evaluations = 1
      threshold   = var.function_errors_threshold
      comparison  = "GreaterThanThreshold"
    }
    # The alias' own errors, per minute: the traffic the queue sends, across the versions a
    # release routes it to. The function-wide alarm above also counts direct invocations of
    # $LATEST or a version; this one names the path that matters and, with one-minute periods,
    # reaches a release's bake (default 300 s) in time for it to roll back instead of promoting.
    # No alias Throttles alarm: throttling is decided per function (reserved concurrency), so
    # the function-wide throttles alarm already fires for the alias; its line is on the dashboard.
    function-alias-errors = {
      description = "${local.alias_resource} (the queue's traffic, every version the alias routes to) had failed invocations within a minute: whole batches returned to the queue. The dashboard splits them per ExecutedVersion."
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      dimensions  = local.alias_dimensions
      statistic   = "Sum"
      period      = 60
      evaluations = 1
      threshold   = var.alias_errors_threshold
      comparison  = "GreaterThanThreshold"
    }
    # The handler's own count of batch item failures (EMF, lambdas/registration/batch_metrics.py):
    # records failing one by one never show in Errors, and reach the DLQ only after five
    # receives. RecordsRejected has no alarm of its own: every rejected record is in the DLQ,
    # whose depth alarm fires at the first one and names the reason; a second alarm would page
    # twice for the same message.
    records-failed = {
      description = "${var.function_name} handed records back to the queue within a minute (RecordsFailed: a store or the DLQ unreachable, too little time left). SQS retries them; those that keep failing end in the DLQ without a reason."
      namespace   = var.handler_metrics_namespace
      metric_name = "RecordsFailed"
      dimensions  = local.handler_dimensions
      statistic   = "Sum"
      period      = 60
      evaluations = 1
      threshold   = var.records_failed_threshold
      comparison  = "GreaterThanThreshold"
    }
    function-throttles = {
      description = "${var.function_name} invocations were throttled (reserved or account concurrency exhausted)."
      namespace   = "AWS/Lambda"
      metric_name = "Throttles"
      dimensions  = { FunctionName = var.function_name }
      statistic   = "Sum"
      period      = 300
      evaluations = 1
      threshold   = 0
      comparison  = "GreaterThanThreshold"
    }
    db-cpu = {
      description = "${var.db_instance_identifier} CPU above ${var.db_cpu_alarm_percent} % for 15 minutes."
      namespace   = "AWS/RDS"
      metric_name = "CPUUtilization"
      dimensions  = { DBInstanceIdentifier = var.db_instance_identifier }
      statistic   = "Average"
      period      = 300
      evaluations = 3
      threshold   = var.db_cpu_alarm_percent
      comparison  = "GreaterThanThreshold"
    }
    db-connections = {
      description = "${var.db_instance_identifier} holds more than ${local.db_connections_threshold} of ${var.db_max_connections} connections."
      namespace   = "AWS/RDS"
      metric_name = "DatabaseConnections"
      dimensions  = { DBInstanceIdentifier = var.db_instance_identifier }
      statistic   = "Maximum"
      period      = 300
      evaluations = 1
      threshold   = local.db_connections_threshold
      comparison  = "GreaterThanThreshold"
    }
    db-free-storage = {
      description = "${var.db_instance_identifier} has less than ${var.db_free_storage_alarm_bytes} bytes of free storage: autoscaling is at its limit or cannot keep up; a full volume stops every write."
      namespace   = "AWS/RDS"
      metric_name = "FreeStorageSpace"
      dimensions  = { DBInstanceIdentifier = var.db_instance_identifier }
      statistic   = "Minimum"
      period      = 300
      evaluations = 1
      threshold   = var.db_free_storage_alarm_bytes
      comparison  = "LessThanThreshold"
    }
    db-freeable-memory = {
      description = "${var.db_instance_identifier} has less than ${var.db_freeable_memory_alarm_bytes} bytes of freeable memory for 15 minutes: the class is too small for its connections and buffer pool, swapping follows."
      namespace   = "AWS/RDS"
      metric_name = "FreeableMemory"
      dimensions  = { DBInstanceIdentifier = var.db_instance_identifier }
      statistic   = "Minimum"
      period      = 300
      evaluations = 3
      threshold   = var.db_freeable_memory_alarm_bytes
      comparison  = "LessThanThreshold"
    }
  }

  # An alarm nobody hears is the failure this stack exists to prevent.
  notification_targets = length(var.alarm_topic_arns) + (var.create_sns_topic && var.alarm_email != null ? 1 : 0)
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = var.alarms_enabled ? local.alarms : {}

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = each.value.evaluations
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison
  # No datapoints means no traffic (SQS and Lambda publish nothing when idle), not a fault.
  treat_missing_data = "notBreaching"

  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions

  tags = local.tags

  lifecycle {
    precondition {
      condition     = local.notification_targets > 0
      error_message = "The alarms would notify nobody: set alarm_email (subscribed to the created topic) or alarm_topic_arns (e.g. your on-call topic)."
    }
  }
}

################################################################################
# Dashboard
################################################################################

locals {
  dashboard_widgets = [
    {
      title   = "Queue backlog"
      metrics = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.queue_name], [".", "ApproximateNumberOfMessagesNotVisible", ".", "."], [".", "ApproximateNumberOfMessagesVisible", ".", var.dlq_name, { label = "DLQ visible" }]]
      stat    = "Maximum"
    },
    {
      title   = "Age of oldest message (s)"
      metrics = [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", var.queue_name]]
      stat    = "Maximum"
    },
    {
      title   = "Function invocations, errors, throttles"
      metrics = [["AWS/Lambda", "Invocations", "FunctionName", var.function_name], [".", "Errors", ".", "."], [".", "Throttles", ".", "."]]
      stat    = "Sum"
    },
    {
      title   = "Alias ${local.alias_resource}: invocations, errors, throttles"
      metrics = [["AWS/Lambda", "Invocations", "FunctionName", var.function_name, "Resource", local.alias_resource], [".", "Errors", ".", ".", ".", "."], [".", "Throttles", ".", ".", ".", "."]]
      stat    = "Sum"
    },
    {
      # One line per version the alias ran (a canary and its stable version side by side):
      # SEARCH finds every ExecutedVersion, so no version number is written here.
      title = "Alias ${local.alias_resource} per executed version: invocations, errors"
      metrics = [
        for name in ["Invocations", "Errors"] : [{
          id         = lower(name)
          expression = "SEARCH('{AWS/Lambda,ExecutedVersion,FunctionName,Resource} MetricName=\"${name}\" FunctionName=\"${var.function_name}\" Resource=\"${local.alias_resource}\"', 'Sum', 60)"
          label      = "v$${PROP('Dim.ExecutedVersion')} ${name}"
        }]
      ]
      stat = "Sum"
    },
    {
      title   = "Records per outcome (the handler's counts)"
      metrics = [for name in ["RecordsReceived", "RecordsStored", "RecordsStale", "RecordsRejected", "RecordsFailed"] : [var.handler_metrics_namespace, name, "service", var.handler_metrics_service]]
      stat    = "Sum"
    },
    {
      title   = "Function duration (ms) and concurrency"
      metrics = [["AWS/Lambda", "Duration", "FunctionName", var.function_name, { stat = "p99" }], [".", "ConcurrentExecutions", ".", ".", { stat = "Maximum", yAxis = "right" }]]
      stat    = "Average"
    },
    {
      title   = "Database CPU (%) and connections"
      metrics = [["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", var.db_instance_identifier], [".", "DatabaseConnections", ".", ".", { stat = "Maximum", yAxis = "right" }]]
      stat    = "Average"
    },
    {
      title   = "DynamoDB writes and throttles"
      metrics = [["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", var.table_name], [".", "WriteThrottleEvents", ".", "."], [".", "ConditionalCheckFailedRequests", ".", "."]]
      stat    = "Sum"
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.dashboard_enabled ? 1 : 0

  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = [
      for index, widget in local.dashboard_widgets : {
        type   = "metric"
        x      = (index % 2) * 12
        y      = floor(index / 2) * 6
        width  = 12
        height = 6
        properties = {
          title   = widget.title
          region  = local.region
          metrics = widget.metrics
          stat    = widget.stat
          period  = 60
          view    = "timeSeries"
        }
      }
    ]
  })
}
