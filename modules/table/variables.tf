variable "name" {
  description = "Name of the DynamoDB table."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.name))
    error_message = "name must be 3-255 characters of letters, digits, '_', '-' or '.'."
  }
}

variable "hash_key" {
  description = "Partition key (type S). The handler writes one item per user keyed by user_id."
  type        = string
  default     = "user_id"

  validation {
    condition     = length(var.hash_key) >= 1 && length(var.hash_key) <= 255
    error_message = "hash_key must be 1-255 characters."
  }
}

variable "point_in_time_recovery_enabled" {
  description = "Continuous backups with point-in-time restore."
  type        = bool
  default     = true
}

variable "point_in_time_recovery_period_in_days" {
  description = "Days of continuous backups kept for point-in-time recovery (1-35)."
  type        = number
  default     = 35

  validation {
    condition     = var.point_in_time_recovery_period_in_days >= 1 && var.point_in_time_recovery_period_in_days <= 35
    error_message = "point_in_time_recovery_period_in_days must be between 1 and 35."
  }
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key. null encrypts with the AWS managed key aws/dynamodb (encryption at rest is always on)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "deletion_protection_enabled" {
  description = "Refuse DeleteTable (and so terraform destroy) until switched off."
  type        = bool
  default     = true
}

variable "stream_view_type" {
  description = "Turn on the table's stream with this view type (null: no stream)."
  type        = string
  default     = null

  validation {
    condition     = var.stream_view_type == null ? true : contains(["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"], var.stream_view_type)
    error_message = "stream_view_type must be KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES (or null)."
  }
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
