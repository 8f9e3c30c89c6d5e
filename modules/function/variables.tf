################################################################################
# Function
################################################################################

variable "function_name" {
  description = "Name of the Lambda function; its log group is /aws/lambda/<function_name>."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 letters, digits, '-' or '_'."
  }
}

variable "zip_path" {
  description = "Path of the deployment package built by `make package` (dist/registration.zip)."
  type        = string
}

variable "handler" {
  description = "Handler inside the zip."
  type        = string
  default     = "registration.app.lambda_handler"
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
  description = "Function timeout. The queue's visibility timeout must be at least 6 times this plus the batching window."
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

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency; null leaves the function on the unreserved pool (new accounts cannot reserve any). When set it must be at least maximum_concurrency."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null ? true : var.reserved_concurrent_executions >= 0
    error_message = "reserved_concurrent_executions must be null or >= 0."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing: Active samples and records requests, PassThrough only forwards upstream trace headers."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

variable "log_level" {
  description = "Level of the function's JSON logs: POWERTOOLS_LOG_LEVEL and Lambda's application log level."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARN", "ERROR"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARN, ERROR."
  }
}

variable "manage_logging_config" {
  description = "Set the function's logging_config (JSON format, log levels, log group). Only for an emulator that does not store it (moto 5.2.5; a change would show on every plan) should this be false."
  type        = bool
  default     = true
}

variable "service_name" {
  description = "POWERTOOLS_SERVICE_NAME: the service key of every log line."
  type        = string
  default     = "registrations"
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

variable "environment_kms_key_arn" {
  description = "ARN of a customer managed KMS key for the environment variables; null uses the Lambda service key. The variables never hold secrets."
  type        = string
  default     = null

  validation {
    condition     = var.environment_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:", var.environment_kms_key_arn))
    error_message = "environment_kms_key_arn must be a KMS key ARN."
  }
}

variable "extra_environment_variables" {
  description = "Additional environment variables (e.g. AWS_ENDPOINT_URL for the local profile). Names of the contract variables and anything that looks like a credential are refused."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(setintersection(keys(var.extra_environment_variables), ["TABLE_NAME", "DB_HOST", "DB_PORT", "DB_NAME", "DB_SECRET_ARN", "DB_TLS", "DLQ_URL", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"])) == 0
    error_message = "extra_environment_variables must not redefine the contract variables of docs/CONTRACTS.md."
  }

  validation {
    condition     = alltrue([for name in keys(var.extra_environment_variables) : !can(regex("(?i)(PASSWORD|PASSWD|SECRET|TOKEN|ACCESS_KEY|PRIVATE_KEY)", name))])
    error_message = "extra_environment_variables must not carry credentials (names matching PASSWORD, SECRET, TOKEN, ACCESS_KEY, PRIVATE_KEY)."
  }
}

################################################################################
# Network
################################################################################

variable "subnet_ids" {
  description = "Private subnets for the function's network interfaces; at least two, in distinct Availability Zones."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids needs at least two subnets (in distinct Availability Zones)."
  }
}

variable "security_group_ids" {
  description = "Security groups of the function (the network module's function group)."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) >= 1
    error_message = "security_group_ids needs at least one security group."
  }
}

################################################################################
# What the function reads and writes
################################################################################

variable "table_name" {
  description = "DynamoDB table (TABLE_NAME)."
  type        = string
}

variable "table_arn" {
  description = "ARN of the DynamoDB table; scope of dynamodb:PutItem/GetItem."
  type        = string
}

variable "queue_arn" {
  description = "ARN of the source queue."
  type        = string
}

variable "queue_visibility_timeout_seconds" {
  description = "Visibility timeout of the source queue, checked against timeout_seconds and the batching window."
  type        = number
}

variable "dlq_url" {
  description = "URL of the dead-letter queue the handler sends permanently invalid messages to (DLQ_URL)."
  type        = string
}

variable "dlq_arn" {
  description = "ARN of the dead-letter queue; scope of sqs:SendMessage."
  type        = string
}

variable "queue_kms_key_arn" {
  description = "Customer managed key of the queues, if any: the role then gets kms:Decrypt (receive) and kms:GenerateDataKey (send to the DLQ) on it."
  type        = string
  default     = null
}

variable "db_host" {
  description = "MySQL host (DB_HOST)."
  type        = string
}

variable "db_port" {
  description = "MySQL port (DB_PORT)."
  type        = number

  validation {
    condition     = var.db_port >= 1 && var.db_port <= 65535
    error_message = "db_port must be a TCP port."
  }
}

variable "db_name" {
  description = "MySQL schema (DB_NAME)."
  type        = string
}

variable "db_tls" {
  description = "DB_TLS: verify (TLS with CA verification), require (TLS without verification) or off (local MariaDB only)."
  type        = string
  default     = "verify"

  validation {
    condition     = contains(["verify", "require", "off"], var.db_tls)
    error_message = "db_tls must be verify, require or off."
  }
}

variable "db_secret_arn" {
  description = "Secrets Manager secret with {\"username\", \"password\"} (DB_SECRET_ARN); scope of secretsmanager:GetSecretValue. Only the ARN reaches the function."
  type        = string
}

variable "db_secret_kms_key_arn" {
  description = "Customer managed key of the secret, if any (the role then gets kms:Decrypt on it). null for the AWS managed key aws/secretsmanager."
  type        = string
  default     = null
}

variable "database_max_connections" {
  description = "max_connections of the database: the event source mapping may not open more concurrent invocations than the database accepts connections."
  type        = number

  validation {
    condition     = var.database_max_connections >= 1
    error_message = "database_max_connections must be at least 1."
  }
}

variable "connections_per_invocation" {
  description = "MySQL connections one execution environment holds (the handler keeps one)."
  type        = number
  default     = 1

  validation {
    condition     = var.connections_per_invocation >= 1 && floor(var.connections_per_invocation) == var.connections_per_invocation
    error_message = "connections_per_invocation must be a whole number >= 1."
  }
}

################################################################################
# Event source mapping
################################################################################

variable "event_source_mapping_enabled" {
  description = "Whether Lambda polls the queue. The local profile disables it: moto would consume the messages itself."
  type        = bool
  default     = true
}

variable "batch_size" {
  description = "Messages per invocation (1-10000 for a standard queue; above 10 needs a batching window of at least 1 s)."
  type        = number
  default     = 10

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number between 1 and 10000."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "How long Lambda gathers messages before invoking (0-300 s)."
  type        = number
  default     = 0

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300 && floor(var.maximum_batching_window_in_seconds) == var.maximum_batching_window_in_seconds
    error_message = "maximum_batching_window_in_seconds must be a whole number between 0 and 300."
  }
}

variable "maximum_concurrency" {
  description = "Most concurrent invocations the SQS event source starts (2-1000). Bounded by the database's connection budget."
  type        = number
  default     = 10

  validation {
    condition     = var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000 && floor(var.maximum_concurrency) == var.maximum_concurrency
    error_message = "maximum_concurrency must be a whole number between 2 and 1000."
  }
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
