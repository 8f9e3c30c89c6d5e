locals {
  # AWS: visibility timeout >= 6 x function timeout (+ batching window) so a message is not handed
  # to a second invocation while the first, including its retries on throttling, still holds it.
  minimum_visibility_timeout_seconds = 6 * var.function_timeout_seconds + var.maximum_batching_window_in_seconds
  visibility_timeout_seconds         = coalesce(var.visibility_timeout_seconds, local.minimum_visibility_timeout_seconds)

  encryption = {
    # null, not false, with a key: the provider treats the two arguments as conflicting.
    sqs_managed_sse_enabled           = var.kms_key_arn == null ? true : null
    kms_master_key_id                 = var.kms_key_arn
    kms_data_key_reuse_period_seconds = var.kms_key_arn == null ? null : var.kms_data_key_reuse_period_seconds
  }

  tags = merge({ "terraform-module" = "queue" }, var.tags)
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name}-dlq"
  message_retention_seconds = var.dlq_message_retention_seconds
  receive_wait_time_seconds = var.receive_wait_time_seconds

  sqs_managed_sse_enabled           = local.encryption.sqs_managed_sse_enabled
  kms_master_key_id                 = local.encryption.kms_master_key_id
  kms_data_key_reuse_period_seconds = local.encryption.kms_data_key_reuse_period_seconds

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.dlq_message_retention_seconds > var.message_retention_seconds
      error_message = "dlq_message_retention_seconds (${var.dlq_message_retention_seconds}) must be greater than message_retention_seconds (${var.message_retention_seconds}): messages keep their original enqueue time when moved to the DLQ."
    }
  }
}

resource "aws_sqs_queue" "this" {
  name                       = var.name
  visibility_timeout_seconds = local.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds
  receive_wait_time_seconds  = var.receive_wait_time_seconds

  sqs_managed_sse_enabled           = local.encryption.sqs_managed_sse_enabled
  kms_master_key_id                 = local.encryption.kms_master_key_id
  kms_data_key_reuse_period_seconds = local.encryption.kms_data_key_reuse_period_seconds

  tags = local.tags

  lifecycle {
    # Owned by aws_sqs_queue_redrive_policy.this below.
    ignore_changes = [redrive_policy]

    precondition {
      condition     = local.visibility_timeout_seconds >= local.minimum_visibility_timeout_seconds
      error_message = "The queue's visibility timeout (${local.visibility_timeout_seconds} s) must be at least 6 x function timeout + batching window = ${local.minimum_visibility_timeout_seconds} s, or messages are delivered twice while still being processed."
    }
  }
}

# A separate resource (not the queue's redrive_policy argument) compares the policy as JSON, so a
# service that echoes it with different formatting does not show a change on every plan.
resource "aws_sqs_queue_redrive_policy" "this" {
  queue_url = aws_sqs_queue.this.id

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

# Only the main queue may redrive into the DLQ (a separate resource: the DLQ cannot reference the
# main queue's ARN inline without a cycle).
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  count = var.redrive_allow_policy_enabled ? 1 : 0

  queue_url = aws_sqs_queue.dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this.arn]
  })
}

# Deny every request that does not use TLS; the main queue also gets the caller's statements
# (a queue has one policy: two policy resources on it would overwrite each other forever).
data "aws_iam_policy_document" "tls_only" {
  for_each = {
    main = aws_sqs_queue.this.arn
    dlq  = aws_sqs_queue.dlq.arn
  }

  source_policy_documents = each.key == "main" ? var.queue_policy_documents : []

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  for_each = {
    main = aws_sqs_queue.this.id
    dlq  = aws_sqs_queue.dlq.id
  }

  queue_url = each.value
  policy    = data.aws_iam_policy_document.tls_only[each.key].json
}
