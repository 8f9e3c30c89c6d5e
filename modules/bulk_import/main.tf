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

# Private, encrypted, versioned (a continuation reads the exact object version its import started
# with, so an upload over the same key cannot change a file mid-import; versioning also undoes an
# accidental overwrite), TLS only.
module "bucket" {
  source = "../private_bucket"

  name_prefix     = "${var.name}-imports-"
  force_destroy   = var.bucket_force_destroy
  kms_key_arn     = var.bucket_kms_key_arn
  tls_only_policy = var.tls_only_bucket_policy

  lifecycle_rules = [
    {
      id                                 = "expire-imports-and-reports"
      prefix                             = local.import_prefix
      expiration_days                    = var.expiration_days
      noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
    },
    {
      id                                     = "abort-incomplete-uploads"
      abort_incomplete_multipart_upload_days = 1
    },
  ]

  tags = local.tags
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
      values   = [module.bucket.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_s3_bucket_notification" "this" {
  bucket = module.bucket.name

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
        resources = ["${module.bucket.arn}/${local.import_prefix}*"]
      }
      WriteReports = {
        actions   = ["s3:PutObject", "s3:DeleteObject"]
        resources = ["${module.bucket.arn}/${local.import_prefix}reports/*"]
      }
      ListReports = {
        actions   = ["s3:ListBucket"]
        resources = [module.bucket.arn]
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
