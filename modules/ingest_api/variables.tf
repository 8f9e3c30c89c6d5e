variable "name" {
  description = "Name of the REST API and prefix of its role, log group, usage plan, key and alarms."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,48}$", var.name))
    error_message = "name must be 1-48 characters of letters, digits, '-' or '_'."
  }
}

variable "queue_arn" {
  description = "ARN of the SQS queue the API sends registrations to (the only resource its role may write)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}$", var.queue_arn))
    error_message = "queue_arn must be a standard SQS queue ARN."
  }
}

variable "queue_kms_key_arn" {
  description = "Customer managed KMS key encrypting the queue, or null (SQS-managed SSE). The role gets kms:GenerateDataKey/Decrypt on it."
  type        = string
  default     = null
}

variable "request_schema" {
  description = "The message contract as a draft-04 JSON Schema document (API Gateway's model dialect); the root passes lambdas/registration/contract.schema.json."
  type        = string

  validation {
    condition     = try(jsondecode(var.request_schema)["$schema"], "") == "http://json-schema.org/draft-04/schema#"
    error_message = "request_schema must be JSON declaring \"$schema\": \"http://json-schema.org/draft-04/schema#\" (API Gateway models are draft-04)."
  }
}

variable "auth" {
  description = "Access control of POST /registrations: \"api_key\" (x-api-key header, usage plan limits), \"iam\" (SigV4, grant execute-api:Invoke on the execution_arn output) or \"none\" (public, stage throttling only)."
  type        = string
  default     = "api_key"

  validation {
    condition     = contains(["none", "api_key", "iam"], var.auth)
    error_message = "auth must be \"none\", \"api_key\" or \"iam\"."
  }
}

variable "stage_name" {
  description = "Stage name; it is the first segment of the invoke URL's path."
  type        = string
  default     = "v1"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.stage_name))
    error_message = "stage_name must be 1-64 characters of letters, digits, '-' or '_'."
  }
}

variable "throttle_rate_limit" {
  description = "Stage-wide steady-state requests per second (every method, every client)."
  type        = number
  default     = 100

  validation {
    condition     = var.throttle_rate_limit > 0 && var.throttle_rate_limit <= 10000
    error_message = "throttle_rate_limit must be above 0 and at most 10000 (the account default)."
  }
}

variable "throttle_burst_limit" {
  description = "Stage-wide burst (token bucket size)."
  type        = number
  default     = 200

  validation {
    condition     = var.throttle_burst_limit >= 1 && var.throttle_burst_limit <= 5000 && floor(var.throttle_burst_limit) == var.throttle_burst_limit
    error_message = "throttle_burst_limit must be a whole number between 1 and 5000."
  }
}

variable "usage_plan" {
  description = "Per-key limits when auth = \"api_key\": requests per second, burst, and requests per UTC day."
  type = object({
    rate_limit  = number
    burst_limit = number
    daily_quota = number
  })
  default = {
    rate_limit  = 50
    burst_limit = 100
    daily_quota = 100000
  }

  validation {
    condition     = var.usage_plan.rate_limit > 0 && var.usage_plan.burst_limit >= 1 && var.usage_plan.daily_quota >= 1
    error_message = "usage_plan needs rate_limit > 0, burst_limit >= 1 and daily_quota >= 1."
  }
}

variable "allowed_origins" {
  description = "Browser origins allowed by CORS (preflight and response headers). Empty: no CORS. REST API responses carry static headers, so one origin (or \"*\") at most."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.allowed_origins) <= 1 && alltrue([for origin in var.allowed_origins : origin == "*" || can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]+)?$", origin))])
    error_message = "allowed_origins holds at most one origin, \"*\" or scheme://host[:port] without a path."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the access log group."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be a retention CloudWatch Logs accepts."
  }
}

variable "logs_kms_key_arn" {
  description = "KMS key encrypting the access log group, or null."
  type        = string
  default     = null
}

variable "xray_tracing_enabled" {
  description = "X-Ray tracing on the stage."
  type        = bool
  default     = true
}

variable "manage_account_cloudwatch_role" {
  description = "Set the Region's API Gateway CloudWatch Logs role (aws_api_gateway_account), which access logging needs. It is one setting per account and Region: turn this off when another stack owns it."
  type        = bool
  default     = true
}

variable "alarms_enabled" {
  description = "Create the 4XX, 5XX and latency alarms of the stage."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm fires or recovers (e.g. the observability module's SNS topic)."
  type        = list(string)
  default     = []
}

variable "alarm_thresholds" {
  description = "Alarm thresholds: share of requests answered 4XX (0-1) and 5XX (0-1), and p99 latency in ms, each over 5 minutes."
  type = object({
    client_error_rate = number
    server_error_rate = number
    p99_latency_ms    = number
  })
  default = {
    client_error_rate = 0.1
    server_error_rate = 0.01
    p99_latency_ms    = 1000
  }

  validation {
    condition     = var.alarm_thresholds.client_error_rate > 0 && var.alarm_thresholds.client_error_rate <= 1 && var.alarm_thresholds.server_error_rate > 0 && var.alarm_thresholds.server_error_rate <= 1 && var.alarm_thresholds.p99_latency_ms > 0
    error_message = "Error rates must be in (0, 1] and the latency threshold positive."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
