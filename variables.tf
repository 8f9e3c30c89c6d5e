################################################################################
# General
################################################################################

variable "name" {
  description = "Name prefix of every resource (queue, table, function, database, network)."
  type        = string
  default     = "registrations"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,29}$", var.name)) && !can(regex("--|-$", var.name))
    error_message = "name must start with a letter, hold at most 30 lowercase letters, digits and single hyphens, and not end with a hyphen."
  }
}

variable "environment" {
  description = "Environment label, added to the tags (e.g. local, dev, prod)."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z0-9-]{1,32}$", var.environment))
    error_message = "environment must be 1-32 lowercase letters, digits or '-'."
  }
}

variable "region" {
  description = "AWS Region to deploy into."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be a Region name such as us-east-1."
  }
}

variable "aws_endpoint_url" {
  description = "Local profile only: send every AWS API call of this stack to this emulator URL (moto server), and give the function AWS_ENDPOINT_URL. null for real AWS."
  type        = string
  default     = null

  validation {
    condition     = var.aws_endpoint_url == null ? true : can(regex("^https?://[^/]+/?$", var.aws_endpoint_url))
    error_message = "aws_endpoint_url must be a URL such as http://127.0.0.1:4566."
  }
}

variable "tags" {
  description = "Tags added to every resource, on top of Project, Environment and ManagedBy."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "Optional customer managed KMS key for the queues, the table, the database (storage, master secret, Performance Insights) and the log groups. Its key policy must admit logs.<region>.amazonaws.com. null uses AWS managed or service keys (everything stays encrypted)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "deletion_protection" {
  description = "Deletion protection of the database and the table. Switch off (and apply) before destroying."
  type        = bool
  default     = true
}

variable "log_retention_in_days" {
  description = "Retention of every log group of the stack (function, VPC flow logs, database exports). One of the values CloudWatch Logs accepts."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

################################################################################
# Network
################################################################################

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC."
  type        = string
  default     = "10.42.0.0/16"
}

variable "az_count" {
  description = "Private subnets, one per Availability Zone (at least 2)."
  type        = number
  default     = 2
}

variable "flow_logs_enabled" {
  description = "VPC flow logs to CloudWatch Logs."
  type        = bool
  default     = true
}

################################################################################
# Queue
################################################################################

variable "max_receive_count" {
  description = "Receives before a message moves to the dead-letter queue (>= 5)."
  type        = number
  default     = 5
}

variable "queue_visibility_timeout_seconds" {
  description = "Explicit visibility timeout of the main queue; null derives 6 x function timeout + batching window. Lower values are rejected at plan time."
  type        = number
  default     = null
}

################################################################################
# Function and event source mapping
################################################################################

variable "function_zip_path" {
  description = "Deployment package; null means \"$${path.root}/dist/registration.zip\" (built by `make package`)."
  type        = string
  default     = null
}

variable "function_architecture" {
  description = "x86_64 or arm64; must match `make package ARCH=...`."
  type        = string
  default     = "x86_64"
}

variable "function_timeout_seconds" {
  description = "Function timeout (1-900 s)."
  type        = number
  default     = 30
}

variable "function_memory_size" {
  description = "Function memory in MB."
  type        = number
  default     = 256
}

variable "function_reserved_concurrency" {
  description = "Reserved concurrency of the function; null for none. When set it must be >= event_source_maximum_concurrency."
  type        = number
  default     = null
}

variable "function_log_level" {
  description = "DEBUG, INFO, WARN or ERROR."
  type        = string
  default     = "INFO"
}

variable "function_tracing_mode" {
  description = "X-Ray tracing mode: Active or PassThrough."
  type        = string
  default     = "Active"
}

variable "function_db_endpoint_override" {
  description = "Local profile only: the database the function is told to use (DB_HOST, DB_PORT, DB_TLS) instead of the RDS instance, e.g. the local MariaDB. null uses RDS with TLS verification."
  type = object({
    host = string
    port = number
    tls  = string
  })
  default = null

  validation {
    condition     = var.function_db_endpoint_override == null ? true : contains(["verify", "require", "off"], var.function_db_endpoint_override.tls)
    error_message = "function_db_endpoint_override.tls must be verify, require or off."
  }
}

variable "event_source_mapping_enabled" {
  description = "Whether Lambda polls the queue (false in the local profile: moto would consume messages itself)."
  type        = bool
  default     = true
}

variable "event_source_batch_size" {
  description = "Messages per invocation (above 10 needs a batching window >= 1 s)."
  type        = number
  default     = 10
}

variable "event_source_maximum_batching_window_in_seconds" {
  description = "Batching window of the event source mapping (0-300 s)."
  type        = number
  default     = 0
}

variable "event_source_maximum_concurrency" {
  description = "Most concurrent invocations from the queue (2-1000); must stay below db_max_connections."
  type        = number
  default     = 10
}

################################################################################
# Table
################################################################################

variable "table_point_in_time_recovery_enabled" {
  description = "Point-in-time recovery of the DynamoDB table."
  type        = bool
  default     = true
}

################################################################################
# Database
################################################################################

variable "db_engine_version" {
  description = "MySQL 8.4 (LTS): \"8.4\" tracks the default minor with automatic minor upgrades."
  type        = string
  default     = "8.4"
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.micro"
}

variable "db_allocated_storage" {
  description = "Initial gp3 storage in GiB (>= 20)."
  type        = number
  default     = 20
}

variable "db_max_allocated_storage" {
  description = "Storage autoscaling limit in GiB (0 disables autoscaling)."
  type        = number
  default     = 100
}

variable "db_name" {
  description = "MySQL schema (DB_NAME)."
  type        = string
  default     = "registrations"
}

variable "db_max_connections" {
  description = "max_connections of the database parameter group; the connection budget the event source concurrency is checked against."
  type        = number
  default     = 60
}

variable "db_multi_az" {
  description = "Multi-AZ standby for the database."
  type        = bool
  default     = true
}

variable "db_backup_retention_period" {
  description = "Days of automated backups (1-35)."
  type        = number
  default     = 7
}

variable "db_skip_final_snapshot" {
  description = "Delete the database without a final snapshot."
  type        = bool
  default     = false
}

variable "db_final_snapshot_identifier" {
  description = "Name of the final snapshot; null uses \"<name>-final\"."
  type        = string
  default     = null
}

variable "db_apply_immediately" {
  description = "Apply database modifications immediately instead of in the maintenance window."
  type        = bool
  default     = false
}

variable "db_performance_insights_enabled" {
  description = "Performance Insights (needs an instance class larger than micro/small)."
  type        = bool
  default     = false
}

variable "db_ca_cert_identifier" {
  description = "CA of the RDS server certificate (the function verifies it). null keeps the Region default (local profile only)."
  type        = string
  default     = "rds-ca-rsa2048-g1"
}

variable "db_monitoring_interval" {
  description = "Enhanced Monitoring interval in seconds (0 disables it; the role it needs uses an AWS managed policy)."
  type        = number
  default     = 60
}

################################################################################
# Observability
################################################################################

variable "alarm_email" {
  description = "E-mail address notified by the alarms (confirm the subscription mail). null: no subscription."
  type        = string
  default     = null
}

variable "alarm_topic_enabled" {
  description = "Create the encrypted SNS topic the alarms notify."
  type        = bool
  default     = true
}

variable "dashboard_enabled" {
  description = "Create the CloudWatch dashboard."
  type        = bool
  default     = true
}

################################################################################
# Bulk import (modules/bulk_import)
################################################################################

variable "importer_zip_path" {
  description = "Deployment package of the importer; null uses dist/importer.zip (make package)."
  type        = string
  default     = null
}

variable "importer_timeout_seconds" {
  description = "Importer timeout: each invocation imports one chunk of a file within it, then hands the rest on."
  type        = number
  default     = 300
}

variable "importer_memory_size" {
  description = "Importer memory in MB (its use stays flat whatever the file size; more memory buys CPU)."
  type        = number
  default     = 512
}

variable "import_expiration_days" {
  description = "Days after which uploaded import files and their reports expire."
  type        = number
  default     = 30
}
