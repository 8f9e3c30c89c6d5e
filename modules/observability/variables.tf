variable "name" {
  description = "Name prefix of the alarms, the dashboard, the SNS topic and its key alias."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,200}$", var.name))
    error_message = "name must be 1-200 letters, digits, '-' or '_'."
  }
}

variable "queue_name" {
  description = "Name of the main queue."
  type        = string
}

variable "dlq_name" {
  description = "Name of the dead-letter queue."
  type        = string
}

variable "function_name" {
  description = "Name of the Lambda function."
  type        = string
}

variable "function_alias_name" {
  description = "Alias the queue's event source mapping invokes (the function module's alias_name, live). The alias alarm and widgets watch Lambda's metrics of Resource = \"<function_name>:<alias>\", the traffic a release shifts between versions."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,128}$", var.function_alias_name)) && !can(regex("^[0-9]+$", var.function_alias_name))
    error_message = "function_alias_name must be a Lambda alias name: 1-128 letters, digits, '-' or '_', not only digits (that would be a version)."
  }
}

variable "handler_metrics_namespace" {
  description = "CloudWatch namespace of the handler's own counts (its POWERTOOLS_METRICS_NAMESPACE): RecordsReceived, RecordsStored, RecordsStale, RecordsRejected, RecordsFailed, MySQLRowsUpserted."
  type        = string
  default     = "Registrations"

  validation {
    condition     = can(regex("^[A-Za-z0-9 ._/#:-]{1,255}$", var.handler_metrics_namespace)) && !startswith(var.handler_metrics_namespace, "AWS/")
    error_message = "handler_metrics_namespace must be a custom CloudWatch namespace: 1-255 of letters, digits, space and . _ / # : -, not starting with AWS/ (reserved)."
  }
}

variable "handler_metrics_service" {
  description = "Value of the `service` dimension of the handler's counts: its POWERTOOLS_SERVICE_NAME."
  type        = string

  validation {
    condition     = length(var.handler_metrics_service) >= 1 && length(var.handler_metrics_service) <= 1024
    error_message = "handler_metrics_service must be 1-1024 characters (a CloudWatch dimension value)."
  }
}

variable "table_name" {
  description = "Name of the DynamoDB table (dashboard only)."
  type        = string
}

variable "db_instance_identifier" {
  description = "Identifier of the RDS instance."
  type        = string
}

variable "db_max_connections" {
  description = "max_connections of the database; the connections alarm fires at db_connections_alarm_percent of it."
  type        = number

  validation {
    condition     = var.db_max_connections >= 1
    error_message = "db_max_connections must be at least 1."
  }
}

variable "db_connections_alarm_percent" {
  description = "Percentage of max_connections at which the DatabaseConnections alarm fires."
  type        = number
  default     = 80

  validation {
    condition     = var.db_connections_alarm_percent > 0 && var.db_connections_alarm_percent <= 100
    error_message = "db_connections_alarm_percent must be in (0, 100]."
  }
}

variable "db_cpu_alarm_percent" {
  description = "Average CPUUtilization (%) over three 5-minute periods that raises the CPU alarm."
  type        = number
  default     = 80

  validation {
    condition     = var.db_cpu_alarm_percent > 0 && var.db_cpu_alarm_percent <= 100
    error_message = "db_cpu_alarm_percent must be in (0, 100]."
  }
}

variable "queue_age_alarm_seconds" {
  description = "ApproximateAgeOfOldestMessage (seconds) on the main queue that raises the backlog alarm."
  type        = number
  default     = 900

  validation {
    condition     = var.queue_age_alarm_seconds >= 60
    error_message = "queue_age_alarm_seconds must be at least 60."
  }
}

variable "function_errors_threshold" {
  description = "Function Errors per 5 minutes above which the errors alarm fires (0: any error)."
  type        = number
  default     = 0

  validation {
    condition     = var.function_errors_threshold >= 0
    error_message = "function_errors_threshold must be >= 0."
  }
}

variable "alias_errors_threshold" {
  description = "Errors of the alias (function_alias_name) per minute above which the alias errors alarm fires (0: any error). One-minute periods, so a release's bake sees it before it promotes."
  type        = number
  default     = 0

  validation {
    condition     = var.alias_errors_threshold >= 0
    error_message = "alias_errors_threshold must be >= 0."
  }
}

variable "records_failed_threshold" {
  description = "The handler's RecordsFailed (records handed back to the queue for a retry) per minute above which the alarm fires (0: any). Raise it to ride out short store blips that retries absorb."
  type        = number
  default     = 0

  validation {
    condition     = var.records_failed_threshold >= 0
    error_message = "records_failed_threshold must be >= 0."
  }
}

variable "db_free_storage_alarm_bytes" {
  description = "FreeStorageSpace (bytes) below which the storage alarm fires."
  type        = number
  default     = 2147483648

  validation {
    condition     = var.db_free_storage_alarm_bytes > 0
    error_message = "db_free_storage_alarm_bytes must be positive."
  }
}

variable "db_freeable_memory_alarm_bytes" {
  description = "FreeableMemory (bytes) below which, for 15 minutes, the memory alarm fires. The default suits the 1 GiB micro class; raise it with the class."
  type        = number
  default     = 67108864

  validation {
    condition     = var.db_freeable_memory_alarm_bytes > 0
    error_message = "db_freeable_memory_alarm_bytes must be positive."
  }
}

variable "alarms_enabled" {
  description = "Create the CloudWatch alarms. Only for emulators that lack the CloudWatch API (moto 5.2.5 does not speak the provider's CloudWatch protocol) should this be false."
  type        = bool
  default     = true
}

variable "create_sns_topic" {
  description = "Create an encrypted SNS topic (with its own KMS key, usable by CloudWatch) for alarm notifications."
  type        = bool
  default     = true
}

variable "alarm_email" {
  description = "E-mail address subscribed to the topic (AWS sends a confirmation mail). null subscribes nobody."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null ? true : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address."
  }
}

variable "alarm_topic_arns" {
  description = "Existing SNS topics notified in addition to (or instead of) the created one."
  type        = list(string)
  default     = []
}

variable "sns_kms_key_arn" {
  description = "Customer managed key for the created topic; its policy must let cloudwatch.amazonaws.com use it. null creates a dedicated key (the AWS managed key aws/sns cannot be used by CloudWatch alarms)."
  type        = string
  default     = null

  validation {
    condition     = var.sns_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:", var.sns_kms_key_arn))
    error_message = "sns_kms_key_arn must be a KMS key ARN."
  }
}

variable "dashboard_enabled" {
  description = "Create a CloudWatch dashboard of the pipeline."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every taggable resource of the module."
  type        = map(string)
  default     = {}
}
