################################################################################
# Naming
################################################################################

variable "name" {
  description = "Name prefix of the bucket, the import queue (<name>-imports, DLQ <name>-imports-dlq) and the importer function (<name>-importer)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,30}$", var.name))
    error_message = "name must be 1-31 lower-case letters, digits or '-' (it prefixes an S3 bucket name)."
  }
}

################################################################################
# Bucket
################################################################################

variable "bucket_force_destroy" {
  description = "Let `terraform destroy` delete the bucket with the imports and reports in it. Keep false where the files matter."
  type        = bool
  default     = false
}

variable "expiration_days" {
  description = "Days after which uploaded files and their reports under imports/ expire (the imported rows live on in the stores)."
  type        = number
  default     = 30

  validation {
    condition     = var.expiration_days >= 1 && floor(var.expiration_days) == var.expiration_days
    error_message = "expiration_days must be a whole number >= 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted version is kept (versioning protects against an accidental overwrite)."
  type        = number
  default     = 7

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number >= 1."
  }
}

variable "bucket_kms_key_arn" {
  description = "Customer managed KMS key for the bucket (SSE-KMS with a bucket key); null uses SSE-S3. The importer role gets kms:Decrypt/GenerateDataKey on it."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:", var.bucket_kms_key_arn))
    error_message = "bucket_kms_key_arn must be a KMS key ARN."
  }
}

################################################################################
# Import queue
################################################################################

variable "queue_kms_key_arn" {
  description = "Customer managed KMS key of the import queue; null uses SQS-managed SSE. With a key, its key policy must let s3.amazonaws.com use it (kms:GenerateDataKey, kms:Decrypt) or S3 cannot deliver notifications."
  type        = string
  default     = null
}

variable "max_receive_count" {
  description = "Receives of an import message (a chunk) before it moves to the import DLQ."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 1 and 1000."
  }
}

variable "redrive_allow_policy_enabled" {
  description = "Restrict the import DLQ to its queue (false only against moto, which does not know the attribute)."
  type        = bool
  default     = true
}

################################################################################
# Where rows go
################################################################################

variable "registration_queue_url" {
  description = "URL of the registration queue the importer sends one message per row to."
  type        = string
}

variable "registration_queue_arn" {
  description = "ARN of the registration queue; scope of sqs:SendMessage."
  type        = string
}

variable "registration_queue_kms_key_arn" {
  description = "Customer managed key of the registration queue, if any (the role then gets kms:GenerateDataKey on it)."
  type        = string
  default     = null
}

################################################################################
# Importer function
################################################################################

variable "zip_path" {
  description = "Deployment package of lambdas/importer (`make package` builds dist/importer.zip)."
  type        = string
}

variable "architecture" {
  description = "Instruction set of the function."
  type        = string
  default     = "x86_64"
}

variable "timeout_seconds" {
  description = "Importer timeout: one chunk of a file per invocation. The import queue's visibility timeout is derived from it."
  type        = number
  default     = 300

  validation {
    condition     = var.timeout_seconds >= 30 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be between 30 and 900."
  }
}

variable "memory_size" {
  description = "Importer memory in MB. Its memory use does not grow with the file; more memory buys CPU for parsing and sending."
  type        = number
  default     = 512
}

variable "time_reserve_ms" {
  description = "TIME_RESERVE_MS: the importer stops reading when less than this is left, to flush the batches in flight, write its report and hand the rest on."
  type        = number
  default     = 20000

  validation {
    condition     = var.time_reserve_ms >= 5000 && floor(var.time_reserve_ms) == var.time_reserve_ms
    error_message = "time_reserve_ms must be a whole number >= 5000."
  }
}

variable "maximum_concurrency" {
  description = "Most importer invocations at once (files imported in parallel); each sends to the registration queue as fast as SQS accepts."
  type        = number
  default     = 2

  validation {
    condition     = var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000
    error_message = "maximum_concurrency must be between 2 and 1000 (the Lambda minimum is 2)."
  }
}

variable "event_source_mapping_enabled" {
  description = "Whether Lambda polls the import queue. The local profile disables it: moto would consume the messages itself; the local runner polls instead."
  type        = bool
  default     = true
}

variable "extra_environment_variables" {
  description = "Additional environment variables (AWS_ENDPOINT_URL for the local profile)."
  type        = map(string)
  default     = {}
}

variable "log_level" {
  description = "Log level of the importer."
  type        = string
  default     = "INFO"
}

variable "manage_logging_config" {
  description = "Set the function's logging_config (false only against moto, which does not store it)."
  type        = bool
  default     = true
}

variable "tracing_mode" {
  description = "X-Ray tracing mode."
  type        = string
  default     = "Active"
}

variable "log_retention_in_days" {
  description = "Retention of the importer's log group."
  type        = number
  default     = 365
}

variable "logs_kms_key_arn" {
  description = "Customer managed KMS key of the log group; null keeps CloudWatch Logs' default encryption."
  type        = string
  default     = null
}

variable "tls_only_bucket_policy" {
  description = "Deny every request to the bucket that does not use TLS (false only against an emulated endpoint, which speaks plain HTTP)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
