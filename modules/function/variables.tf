################################################################################
# Code and runtime
################################################################################

variable "function_name" {
  description = "Name of the Lambda function; its log group is /aws/lambda/<function_name>."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 letters, digits, '-' or '_'."
  }
}

variable "description" {
  description = "Description of the function (what it does, for the console and `aws lambda list-functions`)."
  type        = string
  default     = null
}

variable "zip_path" {
  description = "Path of the deployment package (`make package` builds dist/<name>.zip). Its SHA-256 is the function's source_code_hash, so a rebuilt zip publishes a new version."
  type        = string
}

variable "handler" {
  description = "Handler inside the zip, <module>.<function> (e.g. registration.app.lambda_handler)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_.]*\\.[A-Za-z_][A-Za-z0-9_]*$", var.handler))
    error_message = "handler must look like package.module.function."
  }
}

variable "runtime" {
  description = "Lambda runtime."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be python3.12 or python3.13."
  }
}

variable "architecture" {
  description = "Instruction set; must match the wheels packed into the zip (make package ARCH=...)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "timeout_seconds" {
  description = "Function timeout. With an SQS event source the queue's visibility timeout must be at least 6 times this plus the batching window."
  type        = number
  default     = 30

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 900 && floor(var.timeout_seconds) == var.timeout_seconds
    error_message = "timeout_seconds must be a whole number between 1 and 900 (the Lambda maximum)."
  }
}

variable "memory_size" {
  description = "Memory in MB (CPU scales with it)."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number between 128 and 10240."
  }
}

variable "ephemeral_storage_size" {
  description = "Size of /tmp in MB (512 is free; up to 10240)."
  type        = number
  default     = 512

  validation {
    condition     = var.ephemeral_storage_size >= 512 && var.ephemeral_storage_size <= 10240 && floor(var.ephemeral_storage_size) == var.ephemeral_storage_size
    error_message = "ephemeral_storage_size must be a whole number between 512 and 10240."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency; null leaves the function on the unreserved pool (new accounts cannot reserve any). With an SQS event source it must be at least its maximum_concurrency."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null ? true : var.reserved_concurrent_executions >= 0
    error_message = "reserved_concurrent_executions must be null or >= 0."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing: Active samples and records requests (the role then may write traces), PassThrough only forwards upstream trace headers."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

################################################################################
# Environment
################################################################################

variable "environment_variables" {
  description = "Environment of the function: names and ARNs, never a secret value. Names that look like a credential (PASSWORD, SECRET, TOKEN, ACCESS_KEY, PRIVATE_KEY) are refused unless they end in _ARN."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.environment_variables) : can(regex("_ARN$", name)) || !can(regex("(?i)(PASSWORD|PASSWD|SECRET|TOKEN|ACCESS_KEY|PRIVATE_KEY)", name))])
    error_message = "environment_variables must not carry credentials: pass the ARN of a secret (a name ending in _ARN) instead."
  }

  validation {
    condition     = alltrue([for name in keys(var.environment_variables) : can(regex("^[A-Za-z][A-Za-z0-9_]*$", name)) && !startswith(name, "AWS_LAMBDA_")])
    error_message = "environment variable names must be letters, digits and '_', and not use the reserved AWS_LAMBDA_ prefix."
  }
}

variable "environment_kms_key_arn" {
  description = "ARN of a customer managed KMS key for the environment variables; null uses the Lambda service key."
  type        = string
  default     = null

  validation {
    condition     = var.environment_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:", var.environment_kms_key_arn))
    error_message = "environment_kms_key_arn must be a KMS key ARN."
  }
}

################################################################################
# Logs
################################################################################

variable "log_level" {
  description = "Application log level Lambda filters on (JSON log format)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARN", "ERROR"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARN, ERROR."
  }
}

variable "manage_logging_config" {
  description = "Set the function's logging_config (JSON format, log levels, log group). false only against an emulator that does not store it (moto 5.2.5: a change would show on every plan)."
  type        = bool
  default     = true
}

variable "log_retention_in_days" {
  description = "Retention of /aws/lambda/<function_name>. One of the values CloudWatch Logs accepts."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "logs_kms_key_arn" {
  description = "ARN of a customer managed KMS key for the log group (its key policy must allow logs.<region>.amazonaws.com). null keeps CloudWatch Logs' default encryption."
  type        = string
  default     = null

  validation {
    condition     = var.logs_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:", var.logs_kms_key_arn))
    error_message = "logs_kms_key_arn must be a KMS key ARN."
  }
}

################################################################################
# Network (optional)
################################################################################

variable "vpc_config" {
  description = "Private subnets (at least two, in distinct Availability Zones) and security groups for the function's network interfaces; null runs it outside any VPC. In a VPC the role also gets the network-interface permissions Lambda needs."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null

  validation {
    condition     = var.vpc_config == null ? true : length(var.vpc_config.subnet_ids) >= 2 && length(var.vpc_config.security_group_ids) >= 1
    error_message = "vpc_config needs at least two subnets (in distinct Availability Zones) and one security group."
  }
}

################################################################################
# Permissions
################################################################################

variable "policy_statements" {
  description = "What the function may do beyond writing its logs (and, when given, its network interfaces and X-Ray traces): IAM statements keyed by Sid, each scoped to the resources of the stack. The module adds the queue permissions of its own SQS event source."
  type = map(object({
    effect    = optional(string, "Allow")
    actions   = list(string)
    resources = list(string)
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  }))
  default = {}

  validation {
    condition     = alltrue([for sid in keys(var.policy_statements) : can(regex("^[A-Za-z0-9]+$", sid))])
    error_message = "policy_statements keys are statement Sids: letters and digits only."
  }

  validation {
    condition     = alltrue([for s in values(var.policy_statements) : contains(["Allow", "Deny"], s.effect) && length(s.actions) > 0 && length(s.resources) > 0])
    error_message = "every policy statement needs an effect (Allow or Deny), at least one action and at least one resource."
  }
}

################################################################################
# SQS event source (optional)
################################################################################

variable "sqs_event_source" {
  description = <<-EOT
    Optional SQS event source mapping, fed to the alias `live`:
    queue_arn, queue_visibility_timeout_seconds (checked against the timeout and window),
    queue_kms_key_arn (customer key of the queue: the role may then decrypt with it),
    enabled (false against moto, which would consume the messages itself), batch_size (1-10000;
    above 10 needs a window >= 1 s), maximum_batching_window_in_seconds (0-300),
    maximum_concurrency (2-1000, null for none), report_batch_item_failures (only the failed
    message IDs return to the queue), filter_patterns (JSON patterns of Lambda's event filtering;
    a message matching none is deleted without an invocation).
  EOT
  type = object({
    queue_arn                          = string
    queue_visibility_timeout_seconds   = number
    queue_kms_key_arn                  = optional(string)
    enabled                            = optional(bool, true)
    batch_size                         = optional(number, 10)
    maximum_batching_window_in_seconds = optional(number, 0)
    maximum_concurrency                = optional(number)
    report_batch_item_failures         = optional(bool, true)
    filter_patterns                    = optional(list(string), [])
  })
  default = null

  validation {
    condition     = var.sqs_event_source == null ? true : can(regex("^arn:aws[a-z-]*:sqs:", var.sqs_event_source.queue_arn))
    error_message = "sqs_event_source.queue_arn must be an SQS queue ARN."
  }

  validation {
    condition     = var.sqs_event_source == null ? true : var.sqs_event_source.batch_size >= 1 && var.sqs_event_source.batch_size <= 10000 && floor(var.sqs_event_source.batch_size) == var.sqs_event_source.batch_size
    error_message = "sqs_event_source.batch_size must be a whole number between 1 and 10000."
  }

  validation {
    condition     = var.sqs_event_source == null ? true : var.sqs_event_source.maximum_batching_window_in_seconds >= 0 && var.sqs_event_source.maximum_batching_window_in_seconds <= 300 && floor(var.sqs_event_source.maximum_batching_window_in_seconds) == var.sqs_event_source.maximum_batching_window_in_seconds
    error_message = "sqs_event_source.maximum_batching_window_in_seconds must be a whole number between 0 and 300."
  }

  validation {
    condition     = try(var.sqs_event_source.maximum_concurrency, null) == null ? true : var.sqs_event_source.maximum_concurrency >= 2 && var.sqs_event_source.maximum_concurrency <= 1000 && floor(var.sqs_event_source.maximum_concurrency) == var.sqs_event_source.maximum_concurrency
    error_message = "sqs_event_source.maximum_concurrency must be null or a whole number between 2 and 1000."
  }

  validation {
    condition     = var.sqs_event_source == null ? true : length(var.sqs_event_source.filter_patterns) <= 5 && alltrue([for pattern in var.sqs_event_source.filter_patterns : can(jsondecode(pattern))])
    error_message = "sqs_event_source.filter_patterns must hold at most 5 JSON documents (Lambda's default quota)."
  }
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
