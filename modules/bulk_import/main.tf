locals {
  import_prefix = "imports/"
  # One notification per suffix: S3 filters on one prefix and one suffix per configuration, and
  # none of these is a suffix of another (overlapping filters are refused by S3).
  import_suffixes = [".csv", ".csv.gz", ".jsonl", ".jsonl.gz"]

  bucket_kms_statement = var.bucket_kms_key_arn == null ? {} : {
    BucketKey = {
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.bucket_kms_key_arn]
    }
  }
  registration_kms_statement = var.registration_queue_kms_key_arn == null ? {} : {
    RegistrationQueueKey = {
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [var.registration_queue_kms_key_arn]
    }
  }
  import_queue_kms_statement = var.queue_kms_key_arn == null ? {} : {
    ImportQueueKey = {
      actions   = ["kms:GenerateDataKey"]
      resources = [var.queue_kms_key_arn]
    }
  }

  tags = merge({ "terraform-module" = "bulk_import" }, var.tags)
}

data "aws_caller_identity" "current" {}

################################################################################
# Bucket
################################################################################

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:uploads live 30 days and are read once by the importer; CloudTrail data events are the audit trail
  #checkov:skip=CKV_AWS_144:uploads of an import are not worth a second region; they expire after 30 days
  bucket_prefix = "${var.name}-imports-"
  force_destroy = var.bucket_force_destroy

  tags = local.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.bucket_kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.bucket_kms_key_arn
    }
    bucket_key_enabled = var.bucket_kms_key_arn != null
  }
}

# A continuation reads the exact object version its import started with, so an upload over the
# same key cannot change a file mid-import; versioning also undoes an accidental overwrite.
resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-imports-and-reports"
    status = "Enabled"

    filter {
      prefix = local.import_prefix
    }

    expiration {
      days = var.expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

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

resource "aws_s3_bucket_policy" "this" {
  count = var.tls_only_bucket_policy ? 1 : 0

  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

################################################################################
# Import queue: S3 notifications and the importer's own continuations
################################################################################

module "queue" {
  source = "../queue"

  name                         = "${var.name}-imports"
  function_timeout_seconds     = var.timeout_seconds
  max_receive_count            = var.max_receive_count
  redrive_allow_policy_enabled = var.redrive_allow_policy_enabled
  kms_key_arn                  = var.queue_kms_key_arn
  queue_policy_documents       = [data.aws_iam_policy_document.queue.json]

  tags = local.tags
}

data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "S3ObjectCreatedNotifications"
    actions   = ["sqs:SendMessage"]
    resources = [module.queue.queue_arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    # Only this bucket, in this account (confused-deputy protection).
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.this.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_s3_bucket_notification" "this" {
  bucket = aws_s3_bucket.this.id

  dynamic "queue" {
    for_each = toset(local.import_suffixes)

    content {
      id            = "import${replace(queue.value, ".", "-")}"
      queue_arn     = module.queue.queue_arn
      events        = ["s3:ObjectCreated:*"]
      filter_prefix = local.import_prefix
      filter_suffix = queue.value
    }
  }

  # S3 checks at configuration time that it may send to the queue (the policy is the queue
  # module's, with this module's statement in it).
  depends_on = [module.queue]
}

################################################################################
# Importer function
################################################################################

module "function" {
  source = "../function"

  function_name   = "${var.name}-importer"
  description     = "Streams CSV/JSONL files under imports/ into the registration queue, in time-boxed chunks"
  zip_path        = var.zip_path
  handler         = "importer.app.lambda_handler"
  architecture    = var.architecture
  timeout_seconds = var.timeout_seconds
  memory_size     = var.memory_size
  tracing_mode    = var.tracing_mode
  log_level       = var.log_level

  environment_variables = merge(
    {
      REGISTRATION_QUEUE_URL  = var.registration_queue_url
      IMPORT_QUEUE_URL        = module.queue.queue_url
      TIME_RESERVE_MS         = tostring(var.time_reserve_ms)
      POWERTOOLS_SERVICE_NAME = "${var.name}-importer"
      POWERTOOLS_LOG_LEVEL    = var.log_level
    },
    var.extra_environment_variables,
  )

  # No vpc_config: the importer talks only to S3 and SQS, never to the database, so it needs no
  # network interface in the private subnets (which have no S3 route).
  policy_statements = merge(
    {
      ReadImports = {
        actions   = ["s3:GetObject", "s3:GetObjectVersion"]
        resources = ["${aws_s3_bucket.this.arn}/${local.import_prefix}*"]
      }
      WriteReports = {
        actions   = ["s3:PutObject", "s3:DeleteObject"]
        resources = ["${aws_s3_bucket.this.arn}/${local.import_prefix}reports/*"]
      }
      ListReports = {
        actions   = ["s3:ListBucket"]
        resources = [aws_s3_bucket.this.arn]
        conditions = [{
          test     = "StringLike"
          variable = "s3:prefix"
          values   = ["${local.import_prefix}reports/*"]
        }]
      }
      SendRegistrations = {
        actions   = ["sqs:SendMessage"]
        resources = [var.registration_queue_arn]
      }
      SendContinuations = {
        actions   = ["sqs:SendMessage"]
        resources = [module.queue.queue_arn]
      }
    },
    local.bucket_kms_statement,
    local.registration_kms_statement,
    local.import_queue_kms_statement,
  )

  # One chunk per invocation, with the whole time budget.
  sqs_event_source = {
    queue_arn                        = module.queue.queue_arn
    queue_visibility_timeout_seconds = module.queue.visibility_timeout_seconds
    queue_kms_key_arn                = var.queue_kms_key_arn
    enabled                          = var.event_source_mapping_enabled
    batch_size                       = 1
    maximum_concurrency              = var.maximum_concurrency
  }

  manage_logging_config = var.manage_logging_config
  log_retention_in_days = var.log_retention_in_days
  logs_kms_key_arn      = var.logs_kms_key_arn

  tags = local.tags
}
