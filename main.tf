locals {
  emulated = var.aws_endpoint_url != null

  tags = merge(
    {
      Project     = "sqs-lambda-registrations"
      Environment = var.environment
      ManagedBy   = "terraform"
    },
    var.tags,
  )

  function_zip_path = coalesce(var.function_zip_path, "${path.root}/dist/registration.zip")

  # What the function is told about the database: RDS with verified TLS, unless the local profile
  # points it at the local MariaDB.
  function_db = var.function_db_endpoint_override != null ? var.function_db_endpoint_override : {
    host = module.database.address
    port = module.database.port
    tls  = "verify"
  }

  function_extra_environment = local.emulated ? { AWS_ENDPOINT_URL = trimsuffix(var.aws_endpoint_url, "/") } : {}

  # What moto 5.2.5 cannot do, switched off only against the emulator (envs/README.md):
  # - RedriveAllowPolicy: ignored, so the provider would wait for it forever;
  # - CloudWatch: provider 6.x speaks a protocol moto does not route (alarms, dashboard);
  # - DB parameters come back without their Source, Lambda's LoggingConfig is not stored and
  #   security group rules lose their descriptions: each would show as changed on every plan.
  # (Enhanced Monitoring and the RDS CA are ordinary variables; envs/local.tfvars sets them.)
  emulator_gaps = {
    redrive_allow_policy  = !local.emulated
    alarms                = !local.emulated
    dashboard             = var.dashboard_enabled && !local.emulated
    db_parameters         = !local.emulated
    lambda_logging_config = !local.emulated
    rule_descriptions     = !local.emulated
  }
}

provider "aws" {
  region = var.region

  # Local profile: the emulator takes any credentials and has no instance metadata service.
  skip_credentials_validation = local.emulated
  skip_metadata_api_check     = local.emulated

  # Every service this stack calls, so none of them can reach real AWS from the local profile.
  dynamic "endpoints" {
    for_each = local.emulated ? [trimsuffix(var.aws_endpoint_url, "/")] : []

    content {
      cloudwatch     = endpoints.value
      dynamodb       = endpoints.value
      ec2            = endpoints.value
      iam            = endpoints.value
      kms            = endpoints.value
      lambda         = endpoints.value
      logs           = endpoints.value
      rds            = endpoints.value
      secretsmanager = endpoints.value
      sns            = endpoints.value
      sqs            = endpoints.value
      sts            = endpoints.value
    }
  }
}

module "network" {
  source = "./modules/network"

  name                        = var.name
  vpc_cidr                    = var.vpc_cidr
  az_count                    = var.az_count
  database_port               = 3306
  flow_logs_enabled           = var.flow_logs_enabled
  flow_logs_retention_in_days = var.log_retention_in_days
  logs_kms_key_arn            = var.kms_key_arn
  rule_descriptions_enabled   = local.emulator_gaps.rule_descriptions

  tags = local.tags
}

module "queue" {
  source = "./modules/queue"

  name                               = var.name
  function_timeout_seconds           = var.function_timeout_seconds
  maximum_batching_window_in_seconds = var.event_source_maximum_batching_window_in_seconds
  visibility_timeout_seconds         = var.queue_visibility_timeout_seconds
  max_receive_count                  = var.max_receive_count
  redrive_allow_policy_enabled       = local.emulator_gaps.redrive_allow_policy
  kms_key_arn                        = var.kms_key_arn

  tags = local.tags
}

module "table" {
  source = "./modules/table"

  name                           = "${var.name}-users"
  point_in_time_recovery_enabled = var.table_point_in_time_recovery_enabled
  kms_key_arn                    = var.kms_key_arn
  deletion_protection_enabled    = var.deletion_protection

  tags = local.tags
}

module "database" {
  source = "./modules/database"

  identifier         = var.name
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [module.network.database_security_group_id]

  engine_version        = var.db_engine_version
  instance_class        = var.db_instance_class
  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_max_allocated_storage
  db_name               = var.db_name
  port                  = 3306
  max_connections       = var.db_max_connections
  manage_parameters     = local.emulator_gaps.db_parameters
  ca_cert_identifier    = var.db_ca_cert_identifier
  multi_az              = var.db_multi_az
  kms_key_arn           = var.kms_key_arn

  backup_retention_period   = var.db_backup_retention_period
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = var.db_skip_final_snapshot
  final_snapshot_identifier = var.db_final_snapshot_identifier
  apply_immediately         = var.db_apply_immediately

  log_retention_in_days        = var.log_retention_in_days
  performance_insights_enabled = var.db_performance_insights_enabled
  monitoring_interval          = var.db_monitoring_interval

  tags = local.tags
}

module "function" {
  source = "./modules/function"

  function_name   = var.name
  zip_path        = local.function_zip_path
  architecture    = var.function_architecture
  timeout_seconds = var.function_timeout_seconds
  memory_size     = var.function_memory_size
  log_level       = var.function_log_level
  tracing_mode    = var.function_tracing_mode
  service_name    = var.name

  manage_logging_config = local.emulator_gaps.lambda_logging_config

  reserved_concurrent_executions = var.function_reserved_concurrency
  log_retention_in_days          = var.log_retention_in_days
  logs_kms_key_arn               = var.kms_key_arn
  extra_environment_variables    = local.function_extra_environment

  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [module.network.function_security_group_id]

  table_name                       = module.table.table_name
  table_arn                        = module.table.table_arn
  queue_arn                        = module.queue.queue_arn
  queue_visibility_timeout_seconds = module.queue.visibility_timeout_seconds
  queue_kms_key_arn                = module.queue.kms_key_arn
  dlq_url                          = module.queue.dlq_url
  dlq_arn                          = module.queue.dlq_arn

  db_host                  = local.function_db.host
  db_port                  = local.function_db.port
  db_tls                   = local.function_db.tls
  db_name                  = module.database.db_name
  db_secret_arn            = module.database.master_user_secret_arn
  db_secret_kms_key_arn    = var.kms_key_arn
  database_max_connections = module.database.max_connections

  event_source_mapping_enabled       = var.event_source_mapping_enabled
  batch_size                         = var.event_source_batch_size
  maximum_batching_window_in_seconds = var.event_source_maximum_batching_window_in_seconds
  maximum_concurrency                = var.event_source_maximum_concurrency

  tags = local.tags
}

module "observability" {
  source = "./modules/observability"

  name                   = var.name
  queue_name             = module.queue.queue_name
  dlq_name               = module.queue.dlq_name
  function_name          = module.function.function_name
  table_name             = module.table.table_name
  db_instance_identifier = module.database.identifier
  db_max_connections     = module.database.max_connections

  alarms_enabled    = local.emulator_gaps.alarms
  create_sns_topic  = var.alarm_topic_enabled
  alarm_email       = var.alarm_email
  dashboard_enabled = local.emulator_gaps.dashboard

  tags = local.tags
}

# Unencrypted database traffic is only acceptable towards the local MariaDB.
check "database_tls_only_locally" {
  assert {
    condition     = local.function_db.tls != "off" || local.emulated
    error_message = "DB_TLS=off is meant for the local MariaDB only; against real AWS the function must use TLS (verify)."
  }
}

# Bulk import (issue #14): files dropped under imports/ in its bucket flow, row by row, onto the
# registration queue through the importer (modules/bulk_import, lambdas/importer).
module "bulk_import" {
  source = "./modules/bulk_import"

  name     = var.name
  zip_path = coalesce(var.importer_zip_path, "${path.root}/dist/importer.zip")

  registration_queue_url         = module.queue.queue_url
  registration_queue_arn         = module.queue.queue_arn
  registration_queue_kms_key_arn = module.queue.kms_key_arn
  queue_kms_key_arn              = var.kms_key_arn
  bucket_kms_key_arn             = var.kms_key_arn
  bucket_force_destroy           = !var.deletion_protection
  expiration_days                = var.import_expiration_days

  architecture                 = var.function_architecture
  timeout_seconds              = var.importer_timeout_seconds
  memory_size                  = var.importer_memory_size
  event_source_mapping_enabled = var.event_source_mapping_enabled
  extra_environment_variables  = local.function_extra_environment
  redrive_allow_policy_enabled = local.emulator_gaps.redrive_allow_policy
  manage_logging_config        = local.emulator_gaps.lambda_logging_config
  log_level                    = var.function_log_level
  tracing_mode                 = var.function_tracing_mode
  log_retention_in_days        = var.log_retention_in_days
  logs_kms_key_arn             = var.kms_key_arn

  tags = local.tags
}
