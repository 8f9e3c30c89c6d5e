variable "identifier" {
  description = "Identifier of the DB instance; also the name prefix of its parameter group, subnet group, log groups and monitoring role."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,49}$", var.identifier)) && !can(regex("--|-$", var.identifier))
    error_message = "identifier must start with a letter, hold lowercase letters, digits and single hyphens, not end with a hyphen, and be at most 50 characters."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the DB subnet group; at least two, in distinct Availability Zones (RDS requires two zones)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids needs at least two subnets in distinct Availability Zones."
  }
}

variable "security_group_ids" {
  description = "Security groups of the instance (the network module's database group: MySQL from the function only)."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) >= 1
    error_message = "security_group_ids needs at least one security group."
  }
}

variable "engine_version" {
  description = "MySQL version: \"8.4\" (LTS, default) lets RDS pick the current default minor and upgrade minors automatically; a full version such as \"8.4.7\" pins it."
  type        = string
  default     = "8.4"

  validation {
    condition     = can(regex("^8\\.4(\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version must be 8.4 or an 8.4.x minor: 8.0 left RDS standard support on 2026-07-31."
  }
}

variable "instance_class" {
  description = "DB instance class."
  type        = string
  default     = "db.t4g.micro"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "instance_class must look like db.<family>.<size>, e.g. db.t4g.micro."
  }
}

variable "allocated_storage" {
  description = "Initial gp3 storage in GiB (20 is the gp3 minimum for MySQL)."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage >= 20 && var.allocated_storage <= 65536
    error_message = "allocated_storage must be between 20 and 65536 GiB."
  }
}

variable "max_allocated_storage" {
  description = "Upper bound for storage autoscaling in GiB; 0 disables autoscaling."
  type        = number
  default     = 100

  validation {
    condition     = var.max_allocated_storage == 0 || (var.max_allocated_storage >= 20 && var.max_allocated_storage <= 65536)
    error_message = "max_allocated_storage must be 0 or between 20 and 65536 GiB."
  }
}

variable "db_name" {
  description = "Schema created with the instance."
  type        = string
  default     = "registrations"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,63}$", var.db_name))
    error_message = "db_name must start with a letter and hold at most 64 letters, digits or underscores."
  }
}

variable "master_username" {
  description = "Master user name. Its password is generated and rotated by RDS in Secrets Manager; it never reaches Terraform state."
  type        = string
  default     = "regadmin"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,15}$", var.master_username)) && lower(var.master_username) != "rdsadmin"
    error_message = "master_username must start with a letter and hold at most 16 letters, digits or underscores; rdsadmin is reserved by RDS."
  }
}

variable "port" {
  description = "TCP port of the instance."
  type        = number
  default     = 3306

  validation {
    condition     = var.port >= 1150 && var.port <= 65535
    error_message = "port must be between 1150 and 65535."
  }
}

variable "max_connections" {
  description = "max_connections written to the parameter group. Callers size their connection pools against it (the function's event-source concurrency is checked against it). db.t4g.micro's memory-based default is about 60-80."
  type        = number
  default     = 60

  validation {
    condition     = var.max_connections >= 10 && var.max_connections <= 16000 && floor(var.max_connections) == var.max_connections
    error_message = "max_connections must be a whole number between 10 and 16000."
  }
}

variable "manage_parameters" {
  description = "Write the parameters (TLS only, utf8mb4, max_connections, slow log) into the parameter group. Only for an emulator that does not report a parameter's Source (moto 5.2.5; the provider then sees them missing on every plan) should this be false."
  type        = bool
  default     = true
}

variable "multi_az" {
  description = "Synchronous standby in a second Availability Zone."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key for storage, Performance Insights, the master-user secret and the log groups. null uses the AWS managed keys (storage is always encrypted)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "ca_cert_identifier" {
  description = "Certificate authority of the server certificate; the function verifies it (DB_TLS=verify) against the RDS CA bundle. null leaves the Region's default (only sensible for an emulator: moto ignores it at create, costing an extra modify)."
  type        = string
  default     = "rds-ca-rsa2048-g1"

  validation {
    condition     = var.ca_cert_identifier == null ? true : can(regex("^rds-ca-", var.ca_cert_identifier))
    error_message = "ca_cert_identifier must name an RDS certificate authority, e.g. rds-ca-rsa2048-g1."
  }
}

variable "backup_retention_period" {
  description = "Days of automated backups (1-35; 0 would disable backups and point-in-time restore)."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_period >= 1 && var.backup_retention_period <= 35 && floor(var.backup_retention_period) == var.backup_retention_period
    error_message = "backup_retention_period must be a whole number between 1 and 35."
  }
}

variable "backup_window" {
  description = "Daily backup window (UTC, hh24:mi-hh24:mi); null lets RDS choose."
  type        = string
  default     = null

  validation {
    condition     = var.backup_window == null ? true : can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$", var.backup_window))
    error_message = "backup_window must look like 03:00-04:00."
  }
}

variable "maintenance_window" {
  description = "Weekly maintenance window (UTC, ddd:hh24:mi-ddd:hh24:mi); null lets RDS choose."
  type        = string
  default     = null

  validation {
    condition     = var.maintenance_window == null ? true : can(regex("^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$", var.maintenance_window))
    error_message = "maintenance_window must look like sun:04:30-sun:05:30."
  }
}

variable "deletion_protection" {
  description = "Refuse deletion of the instance (and so terraform destroy) until switched off."
  type        = bool
  default     = true
}

variable "skip_final_snapshot" {
  description = "Delete without a final snapshot. Keep false wherever the data matters."
  type        = bool
  default     = false
}

variable "final_snapshot_identifier" {
  description = "Name of the final snapshot taken on deletion when skip_final_snapshot = false; null uses \"<identifier>-final-<suffix>\", the suffix random and kept in state, so a recreated instance never meets its predecessor's snapshot."
  type        = string
  default     = null

  validation {
    condition     = var.final_snapshot_identifier == null ? true : can(regex("^[A-Za-z][A-Za-z0-9-]{0,254}$", var.final_snapshot_identifier))
    error_message = "final_snapshot_identifier must start with a letter and hold letters, digits and hyphens."
  }
}

variable "apply_immediately" {
  description = "Apply modifications now instead of in the next maintenance window."
  type        = bool
  default     = false
}

variable "enabled_cloudwatch_logs_exports" {
  description = "MySQL logs exported to CloudWatch Logs. Their log groups are created here, with retention, before the instance."
  type        = set(string)
  default     = ["error", "slowquery"]

  validation {
    condition     = alltrue([for log in var.enabled_cloudwatch_logs_exports : contains(["audit", "error", "general", "slowquery", "iam-db-auth-error"], log)])
    error_message = "enabled_cloudwatch_logs_exports may hold audit, error, general, slowquery and iam-db-auth-error."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the exported-log groups. One of the values CloudWatch Logs accepts."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "performance_insights_enabled" {
  description = "Performance Insights (not available on the micro/small burstable classes: a precondition refuses them)."
  type        = bool
  default     = false
}

variable "performance_insights_retention_period" {
  description = "Days of Performance Insights data: 7, 731, or a multiple of 31."
  type        = number
  default     = 7

  validation {
    condition     = var.performance_insights_retention_period == 7 || var.performance_insights_retention_period == 731 || (var.performance_insights_retention_period % 31 == 0 && var.performance_insights_retention_period > 0 && var.performance_insights_retention_period <= 713)
    error_message = "performance_insights_retention_period must be 7, 731 or a multiple of 31 up to 713."
  }
}

variable "monitoring_interval" {
  description = "Enhanced Monitoring interval in seconds; 0 disables it. A monitoring role is created when enabled."
  type        = number
  default     = 60

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.monitoring_interval)
    error_message = "monitoring_interval must be one of 0, 1, 5, 10, 15, 30, 60."
  }
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}

variable "required_connections" {
  description = "Connections the clients may hold at once (the caller computes it from its concurrency); max_connections must be at least this (a precondition). 0 when an RDS Proxy pools the clients."
  type        = number
  default     = 0

  validation {
    condition     = var.required_connections >= 0 && floor(var.required_connections) == var.required_connections
    error_message = "required_connections must be a whole number >= 0."
  }
}

variable "idle_connection_timeout_seconds" {
  description = "wait_timeout and interactive_timeout of the server (and the proxy's idle client timeout): how long a connection left open by a retired Lambda environment keeps its slot."
  type        = number
  default     = 600

  validation {
    condition     = var.idle_connection_timeout_seconds >= 60 && var.idle_connection_timeout_seconds <= 28800 && floor(var.idle_connection_timeout_seconds) == var.idle_connection_timeout_seconds
    error_message = "idle_connection_timeout_seconds must be a whole number between 60 and 28800."
  }
}

variable "database_insights_mode" {
  description = "CloudWatch Database Insights: \"standard\" or \"advanced\" (needs Performance Insights with >= 465 days of retention, so a class above micro/small). null keeps the AWS default (standard)."
  type        = string
  default     = null

  validation {
    condition     = var.database_insights_mode == null ? true : contains(["standard", "advanced"], var.database_insights_mode)
    error_message = "database_insights_mode must be standard or advanced."
  }
}

variable "proxy_enabled" {
  description = "Put an RDS Proxy (TLS required, secrets authentication) in front of the instance."
  type        = bool
  default     = false
}

variable "proxy_secret_arns" {
  description = "Secrets Manager secrets ({\"username\", \"password\"}) of the users the proxy admits; its role may read only these."
  type        = list(string)
  default     = []
}

variable "proxy_security_group_ids" {
  description = "Security groups of the proxy (the network module's proxy group)."
  type        = list(string)
  default     = []
}

variable "proxy_max_connections_percent" {
  description = "Share of max_connections the proxy may open to the instance."
  type        = number
  default     = 80

  validation {
    condition     = var.proxy_max_connections_percent >= 1 && var.proxy_max_connections_percent <= 100
    error_message = "proxy_max_connections_percent must be between 1 and 100."
  }
}
