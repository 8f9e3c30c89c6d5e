locals {
  # The bucket policy: the TLS-only deny and the caller's documents; none at all when both are off.
  policy_enabled = var.tls_only_policy || length(var.policy_documents) > 0
}

resource "aws_s3_bucket" "this" {
  # Skipped for every caller (bulk_import's import bucket, change_stream's lake), reasons in .checkov.yaml:
  #checkov:skip=CKV_AWS_18:access logs would need a log bucket per bucket; CloudTrail data events are the audit trail of both callers' buckets
  #checkov:skip=CKV_AWS_144:neither caller's bucket is worth a second region: imports expire after 30 days, the lake is rebuilt from the table's stream
  #checkov:skip=CKV2_AWS_62:notifications are the caller's: bulk_import configures its own (to the import queue), nothing reacts to lake writes
  bucket        = var.name
  bucket_prefix = var.name_prefix
  force_destroy = var.force_destroy

  tags = var.tags

  lifecycle {
    precondition {
      condition     = (var.name == null) != (var.name_prefix == null)
      error_message = "Set exactly one of name and name_prefix."
    }
  }
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

# Always versioned: an overwrite or a delete can be undone, and a reader can pin the version it
# started with (the importer does).
resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  #checkov:skip=CKV_AWS_300:checkov cannot render a module caller's rules into the dynamic block; lifecycle_rules' validation requires an enabled whole-bucket rule that aborts incomplete uploads
  bucket = aws_s3_bucket.this.id

  dynamic "rule" {
    for_each = var.lifecycle_rules

    content {
      id     = rule.value.id
      status = rule.value.enabled ? "Enabled" : "Disabled"

      # An empty filter is the whole bucket.
      dynamic "filter" {
        for_each = rule.value.prefix == null ? [] : [rule.value.prefix]

        content {
          prefix = filter.value
        }
      }
      dynamic "filter" {
        for_each = rule.value.prefix == null ? [true] : []

        content {}
      }

      dynamic "expiration" {
        for_each = rule.value.expiration_days == null ? [] : [rule.value.expiration_days]

        content {
          days = expiration.value
        }
      }

      dynamic "noncurrent_version_expiration" {
        for_each = rule.value.noncurrent_version_expiration_days == null ? [] : [rule.value.noncurrent_version_expiration_days]

        content {
          noncurrent_days = noncurrent_version_expiration.value
        }
      }

      dynamic "abort_incomplete_multipart_upload" {
        for_each = rule.value.abort_incomplete_multipart_upload_days == null ? [] : [rule.value.abort_incomplete_multipart_upload_days]

        content {
          days_after_initiation = abort_incomplete_multipart_upload.value
        }
      }
    }
  }

  # Rules on noncurrent versions need versioning in place first.
  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "this" {
  count = local.policy_enabled ? 1 : 0

  source_policy_documents = var.policy_documents

  dynamic "statement" {
    for_each = var.tls_only_policy ? [true] : []

    content {
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
}

resource "aws_s3_bucket_policy" "this" {
  count = local.policy_enabled ? 1 : 0

  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this[0].json

  # With public policies blocked first, no policy can ever make the bucket public.
  depends_on = [aws_s3_bucket_public_access_block.this]
}
