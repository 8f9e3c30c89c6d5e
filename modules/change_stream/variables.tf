variable "name" {
  description = "Prefix of every resource name (the stack's name)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 lowercase letters, digits or hyphens (it prefixes an S3 bucket)."
  }
}

variable "table_stream_arn" {
  description = "ARN of the users table's stream (view type NEW_AND_OLD_IMAGES)."
  type        = string

  validation {
    condition     = can(regex("^arn:[^:]+:dynamodb:[^:]+:[0-9]{12}:table/[^/]+/stream/.+$", var.table_stream_arn))
    error_message = "table_stream_arn must be a DynamoDB stream ARN (arn:...:table/<name>/stream/<label>)."
  }
}

variable "zip_path" {
  description = "The changes function's package (`make package` builds dist/changes.zip)."
  type        = string
}

variable "environment_variables" {
  description = "Extra environment of both functions (names and ARNs only), e.g. AWS_ENDPOINT_URL locally."
  type        = map(string)
  default     = {}
}

variable "timeout_seconds" {
  description = "Function timeout of both consumers."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be 1-900."
  }
}

variable "memory_size" {
  description = "Memory (MB) of both consumers."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be 128-10240."
  }
}

variable "batch_size" {
  description = "Stream records per invoke (Lambda's limit for streams is 10,000)."
  type        = number
  default     = 100

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000
    error_message = "batch_size must be 1-10000."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "How long the lake writer's mapping waits for a full batch (fewer, larger objects)."
  type        = number
  default     = 5

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300
    error_message = "maximum_batching_window_in_seconds must be 0-300."
  }
}

variable "maximum_retry_attempts" {
  description = "Retries of a failing batch before its metadata goes to the failure queue (-1: until the records expire)."
  type        = number
  default     = 3

  validation {
    condition     = var.maximum_retry_attempts >= -1 && var.maximum_retry_attempts <= 10000
    error_message = "maximum_retry_attempts must be -1 or 0-10000."
  }
}

variable "maximum_record_age_in_seconds" {
  description = "Records older than this are given up on (-1: never; else 60-604800)."
  type        = number
  default     = 86400

  validation {
    condition     = var.maximum_record_age_in_seconds == -1 || (var.maximum_record_age_in_seconds >= 60 && var.maximum_record_age_in_seconds <= 604800)
    error_message = "maximum_record_age_in_seconds must be -1 or 60-604800."
  }
}

variable "tumbling_window_in_seconds" {
  description = "Length of the counting windows of the counts consumer."
  type        = number
  default     = 300

  validation {
    condition     = var.tumbling_window_in_seconds >= 1 && var.tumbling_window_in_seconds <= 900
    error_message = "tumbling_window_in_seconds must be 1-900."
  }
}

variable "publish_mappings_for_local_runner" {
  description = "Emulated endpoints only: create no stream mapping (moto would invoke it through Docker on every table write) and publish its settings in SSM for the local runner."
  type        = bool
  default     = false
}

variable "glue_catalog_enabled" {
  description = "Create the Glue database and table (with date partition projection) that Athena queries."
  type        = bool
  default     = true
}

variable "lake_first_day" {
  description = "First date (yyyy-MM-dd) of the partition projection's range."
  type        = string
  default     = "2024-01-01"

  validation {
    condition     = can(formatdate("YYYY-MM-DD", "${var.lake_first_day}T00:00:00Z"))
    error_message = "lake_first_day must be a date as yyyy-MM-dd."
  }
}

variable "lake_expiration_days" {
  description = "Delete change rows after this many days (null: keep them)."
  type        = number
  default     = null

  validation {
    condition     = var.lake_expiration_days == null ? true : var.lake_expiration_days >= 1
    error_message = "lake_expiration_days must be at least 1 (or null)."
  }
}

variable "lake_noncurrent_version_expiration_days" {
  description = "Days before an overwritten object's old version (a retried batch) is deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.lake_noncurrent_version_expiration_days >= 1
    error_message = "lake_noncurrent_version_expiration_days must be at least 1."
  }
}

variable "lake_force_destroy" {
  description = "Let `terraform destroy` delete a lake that still holds objects."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "Customer managed key of the lake and the failure queue (null: AWS managed encryption)."
  type        = string
  default     = null
}

variable "manage_logging_config" {
  description = "JSON logs with levels (false only against an emulated endpoint)."
  type        = bool
  default     = true
}

variable "log_retention_in_days" {
  description = "Retention of both functions' log groups."
  type        = number
  default     = 365
}

variable "logs_kms_key_arn" {
  description = "Customer managed key of the log groups."
  type        = string
  default     = null
}

variable "alarms_enabled" {
  description = "Iterator-age and failed-batch alarms (false against an emulated endpoint)."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "SNS topic ARNs the alarms notify."
  type        = list(string)
  default     = []
}

variable "iterator_age_alarm_seconds" {
  description = "Alarm when the lake writer is further behind the table than this."
  type        = number
  default     = 600
}

variable "tls_only_bucket_policy" {
  description = "Deny every request to the bucket that does not use TLS (false only against an emulated endpoint, which speaks plain HTTP)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
