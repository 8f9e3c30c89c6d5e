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

variable "availability_zone_ids" {
  description = "Zone ids of the private subnets, e.g. [\"use1-az1\", \"use1-az2\"] (ids name the same physical zone in every account). null: the first az_count zone ids of the Region in sorted order, leaving out the ones known to refuse Lambda, RDS or new subnets (modules/network)."
  type        = list(string)
  default     = null
}

variable "az_count" {
  description = "Private subnets, one per Availability Zone (at least 2), when availability_zone_ids is null."
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

variable "bootstrap_zip_path" {
  description = "Package of the database bootstrap function; null means \"$${path.root}/dist/bootstrap.zip\" (built by `make package`)."
  type        = string
  default     = null
}

variable "function_architecture" {
  description = "x86_64 or arm64; must match `make package ARCH=...`."
  type        = string
  default     = "x86_64"
}

variable "function_timeout_seconds" {
  description = "Function timeout (s). The handler keeps a 24 s reserve (its slowest single step, lambdas/registration/README.md) and needs room for a batch's work after it."
  type        = number
  default     = 30

  validation {
    # 24 s reserve (a MySQL connect: 3 s + 4 reads of 5 s, + 1 s) + 5 s of work.
    condition     = var.function_timeout_seconds >= 29 && var.function_timeout_seconds <= 900
    error_message = "function_timeout_seconds must be 29-900: the handler stops starting writes 24 s before the timeout (its slowest single step), and a batch needs time to work."
  }
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
  description = "Most concurrent invocations from the queue (2-1000). Without the proxy, db_max_connections must hold 2 x this + 5 (retired environments keep their connection until wait_timeout)."
  type        = number
  default     = 10
}

################################################################################
# Table
################################################################################

variable "table_kms_key_arn" {
  description = "Customer managed KMS key of the DynamoDB table, when it differs from kms_key_arn (the function's role is granted Decrypt, Encrypt, GenerateDataKey* and DescribeKey on it). null uses kms_key_arn."
  type        = string
  default     = null

  validation {
    condition     = var.table_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:", var.table_kms_key_arn))
    error_message = "table_kms_key_arn must be a KMS key ARN."
  }
}

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

variable "db_database_insights_mode" {
  description = "CloudWatch Database Insights mode: standard or advanced (advanced needs Performance Insights with >= 465 days retention). null keeps the AWS default."
  type        = string
  default     = null
}

variable "db_proxy_enabled" {
  description = "Put an RDS Proxy (TLS required) between the function and the database, and point the function at it: the way past max_connections when concurrency grows (docs/CAPACITY.md). Not in the local profile: see envs/README.md."
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

variable "alarm_topic_arns" {
  description = "Existing SNS topics (e.g. the on-call topic) the alarms notify, besides the created one. On AWS, alarm_email or this must be set: the plan fails when the alarms would notify nobody."
  type        = list(string)
  default     = []
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
# HTTP ingestion
################################################################################

variable "ingest_auth" {
  description = "Access control of POST /registrations: \"api_key\" (usage plan limits), \"iam\" (SigV4) or \"none\". The local gateway emulates \"api_key\" and \"none\"."
  type        = string
  default     = "api_key"

  validation {
    condition     = contains(["none", "api_key", "iam"], var.ingest_auth)
    error_message = "ingest_auth must be \"none\", \"api_key\" or \"iam\"."
  }
}

variable "ingest_stage_name" {
  description = "Stage of the ingest API (first path segment of ingest_url)."
  type        = string
  default     = "v1"
}

variable "ingest_throttle_rate_limit" {
  description = "Stage-wide requests per second of the ingest API."
  type        = number
  default     = 100
}

variable "ingest_throttle_burst_limit" {
  description = "Stage-wide burst of the ingest API."
  type        = number
  default     = 200
}

variable "ingest_usage_plan" {
  description = "Per-key rate, burst and daily quota when ingest_auth = \"api_key\"."
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
}

variable "ingest_allowed_origins" {
  description = "Browser origin allowed by CORS on the ingest API (at most one, or \"*\"); empty: no CORS."
  type        = list(string)
  default     = []
}

################################################################################
# Change stream
################################################################################

variable "changes_zip_path" {
  description = "Deployment package of the change stream's functions; null uses dist/changes.zip (make package)."
  type        = string
  default     = null
}

variable "change_stream_enabled" {
  description = "Stream the users table into the S3 lake (modules/change_stream); `make lake` queries it."
  type        = bool
  default     = true
}

variable "change_stream_tumbling_window_in_seconds" {
  description = "Length of the windows in which registrations and updates are counted."
  type        = number
  default     = 300

  validation {
    condition     = var.change_stream_tumbling_window_in_seconds >= 1 && var.change_stream_tumbling_window_in_seconds <= 900
    error_message = "change_stream_tumbling_window_in_seconds must be 1-900."
  }
}

variable "lake_force_destroy" {
  description = "Let `terraform destroy` delete a lake that still holds change rows."
  type        = bool
  default     = false
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
