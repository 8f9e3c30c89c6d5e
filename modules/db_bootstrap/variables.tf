variable "name" {
  description = "Name prefix of the function (<name>-db-bootstrap) and the application secret."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,40}$", var.name))
    error_message = "name must start with a letter and hold at most 41 lowercase letters, digits or '-'."
  }
}

variable "zip_path" {
  description = "Package of lambdas/bootstrap (`make package` builds dist/bootstrap.zip)."
  type        = string
}

variable "architecture" {
  description = "x86_64 or arm64; must match the zip."
  type        = string
  default     = "x86_64"
}

variable "database" {
  description = "Where the bootstrap logs in as the master user: host, port, schema name and DB_TLS mode (verify, require, off)."
  type = object({
    host = string
    port = number
    name = string
    tls  = string
  })

  validation {
    condition     = contains(["verify", "require", "off"], var.database.tls)
    error_message = "database.tls must be verify, require or off."
  }
}

variable "master_secret_arn" {
  description = "The RDS-managed master secret ({\"username\", \"password\"}); the bootstrap function may read it, nothing else in the stack may."
  type        = string
}

variable "master_secret_kms_key_arn" {
  description = "Customer managed key of the master secret, if any (the role then may decrypt with it)."
  type        = string
  default     = null
}

variable "application_secret_kms_key_arn" {
  description = "Customer managed key for the application secret; null uses aws/secretsmanager."
  type        = string
  default     = null
}

variable "application_username" {
  description = "MySQL user of the application."
  type        = string
  default     = "registrations_app"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,31}$", var.application_username))
    error_message = "application_username must be 1-32 letters, digits or '_', starting with a letter."
  }
}

variable "grants" {
  description = "Table => privileges of the application user; only SELECT, INSERT, UPDATE and DELETE may be granted."
  type        = map(list(string))
  default     = { users = ["SELECT", "INSERT", "UPDATE"] }

  validation {
    condition     = length(var.grants) > 0 && alltrue([for privileges in values(var.grants) : length(privileges) > 0 && length(setsubtract(privileges, ["SELECT", "INSERT", "UPDATE", "DELETE"])) == 0])
    error_message = "grants must map each table to privileges among SELECT, INSERT, UPDATE, DELETE."
  }
}

variable "invoke" {
  description = "Invoke the function from Terraform. false only against an emulator that cannot run Lambda (moto without Docker): the local stack runs the same code itself, with the db_bootstrap_event output as input."
  type        = bool
  default     = true
}

variable "vpc_config" {
  description = "Subnets and security groups of the function: it must reach MySQL and the Secrets Manager endpoint."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
}

variable "environment_variables" {
  description = "Extra environment (e.g. AWS_ENDPOINT_URL against an emulator)."
  type        = map(string)
  default     = {}
}

variable "secret_recovery_window_in_days" {
  description = "Days a deleted application secret stays recoverable (0 deletes at once, 7-30 otherwise)."
  type        = number
  default     = 7

  validation {
    condition     = var.secret_recovery_window_in_days == 0 || (var.secret_recovery_window_in_days >= 7 && var.secret_recovery_window_in_days <= 30)
    error_message = "secret_recovery_window_in_days must be 0 or between 7 and 30."
  }
}

variable "manage_logging_config" {
  description = "Passed to the function module (false only against moto)."
  type        = bool
  default     = true
}

variable "log_retention_in_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 365
}

variable "logs_kms_key_arn" {
  description = "Customer managed key of the function's log group."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
