variable "name" {
  description = "Name of the main queue; the dead-letter queue is named \"<name>-dlq\"."
  type        = string

  validation {
    # 80 characters is the SQS limit; "-dlq" needs 4 of them.
    condition     = can(regex("^[A-Za-z0-9_-]{1,76}$", var.name))
    error_message = "name must be 1-76 characters of letters, digits, '-' or '_'."
  }
}

variable "function_timeout_seconds" {
  description = "Timeout of the consuming Lambda function. The visibility timeout is derived from it."
  type        = number

  validation {
    condition     = var.function_timeout_seconds >= 1 && var.function_timeout_seconds <= 900 && floor(var.function_timeout_seconds) == var.function_timeout_seconds
    error_message = "function_timeout_seconds must be a whole number between 1 and 900 (the Lambda maximum)."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "Batching window of the consuming event source mapping. Added to the visibility timeout because messages are already in flight while the batch is gathered."
  type        = number
  default     = 0

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300 && floor(var.maximum_batching_window_in_seconds) == var.maximum_batching_window_in_seconds
    error_message = "maximum_batching_window_in_seconds must be a whole number between 0 and 300."
  }
}

variable "visibility_timeout_seconds" {
  description = "Explicit visibility timeout of the main queue. null derives it as 6 x function timeout + batching window (AWS guidance for Lambda consumers); an explicit value below that is rejected at plan time."
  type        = number
  default     = null

  validation {
    condition     = var.visibility_timeout_seconds == null ? true : (var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200)
    error_message = "visibility_timeout_seconds must be between 0 and 43200 (12 hours)."
  }
}

variable "max_receive_count" {
  description = "Receives before a message moves to the dead-letter queue. At least 5, so that messages of a partially failed batch or a throttled invocation are retried before being parked."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 5 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number between 5 and 1000."
  }
}

variable "message_retention_seconds" {
  description = "How long the main queue keeps a message (60 s - 14 days)."
  type        = number
  default     = 345600 # 4 days

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long the dead-letter queue keeps a message. Must exceed the main queue's retention: a standard queue keeps the original enqueue time, so a shorter DLQ retention would expire redriven messages early."
  type        = number
  default     = 1209600 # 14 days, the maximum

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "receive_wait_time_seconds" {
  description = "Long-polling wait for ReceiveMessage (0-20 s)."
  type        = number
  default     = 20

  validation {
    condition     = var.receive_wait_time_seconds >= 0 && var.receive_wait_time_seconds <= 20
    error_message = "receive_wait_time_seconds must be between 0 and 20."
  }
}

variable "redrive_allow_policy_enabled" {
  description = "Restrict redrive into the DLQ to the main queue (RedriveAllowPolicy). Only for emulators without that attribute (moto 5.2.5) should this be false."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key for both queues. null uses SQS-managed server-side encryption (SSE-SQS)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "kms_data_key_reuse_period_seconds" {
  description = "How long SQS reuses a data key before calling KMS again (60-86400 s). Only used with kms_key_arn."
  type        = number
  default     = 300

  validation {
    condition     = var.kms_data_key_reuse_period_seconds >= 60 && var.kms_data_key_reuse_period_seconds <= 86400
    error_message = "kms_data_key_reuse_period_seconds must be between 60 and 86400."
  }
}

variable "queue_policy_documents" {
  description = "IAM policy documents (JSON) whose statements join the main queue's policy, e.g. a service allowed to send to it."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
