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

  function_zip_path  = coalesce(var.function_zip_path, "${path.root}/dist/registration.zip")
  changes_zip_path   = coalesce(var.changes_zip_path, "${path.root}/dist/changes.zip")
  bootstrap_zip_path = coalesce(var.bootstrap_zip_path, "${path.root}/dist/bootstrap.zip")

  # What the function is told about the database: the RDS Proxy or RDS itself, with verified TLS,
  # unless the local profile points it at the local MariaDB.
  function_db = var.function_db_endpoint_override != null ? var.function_db_endpoint_override : {
    host = var.db_proxy_enabled ? module.database.proxy_endpoint : module.database.address
    port = module.database.port
    tls  = "verify"
  }

  # The bootstrap logs in as the master user, which the proxy does not serve: RDS directly.
  bootstrap_db = var.function_db_endpoint_override != null ? var.function_db_endpoint_override : {
    host = module.database.address
    port = module.database.port
    tls  = "verify"
  }

  table_kms_key_arn = var.table_kms_key_arn != null ? var.table_kms_key_arn : var.kms_key_arn

  # Connections the registration function may hold: one per environment, twice over because the
  # environments a deploy or a scale-down retires keep theirs until wait_timeout closes them, plus
  # a reserve for the bootstrap, monitoring and an operator. Through the proxy, the proxy's pool
  # is the bound instead (proxy_max_connections_percent of max_connections).
  db_connection_reserve = 5
  db_required_connections = var.db_proxy_enabled ? 0 : (
    2 * var.event_source_maximum_concurrency + local.db_connection_reserve
  )

  function_extra_environment = local.emulated ? { AWS_ENDPOINT_URL = trimsuffix(var.aws_endpoint_url, "/") } : {}

  registration_db_secret_arn = module.db_bootstrap.application_secret_arn

  # What the registration handler may do, each scoped to this stack's resources. Customer keys
  # add their grants only when given.
  registration_policy_statements = merge(
    {
      ParkInvalidMessages = {
        actions   = ["sqs:SendMessage"]
        resources = [module.queue.dlq_arn]
      }
      WriteUsers = {
        actions   = ["dynamodb:PutItem"]
        resources = [module.table.table_arn]
      }
      ReadDatabaseCredentials = {
        actions   = ["secretsmanager:GetSecretValue"]
        resources = [local.registration_db_secret_arn]
      }
    },
    # A table key of its own (or the stack's key) must let the role encrypt the items it writes.
    local.table_kms_key_arn == null ? {} : {
      UseTableKey = {
        actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"]
        resources = [local.table_kms_key_arn]
      }
    },
    var.kms_key_arn == null ? {} : {
      DecryptWithCustomerKeys = {
        actions   = ["kms:Decrypt"]
        resources = [var.kms_key_arn]
      }
      # SendMessage to a queue under a customer managed key needs a data key from it.
      EncryptDeadLetters = {
        actions   = ["kms:GenerateDataKey"]
        resources = [var.kms_key_arn]
      }
    },
  )

  # What moto 5.2.5 cannot do, switched off only against the emulator (envs/README.md):
  # - RedriveAllowPolicy: ignored, so the provider would wait for it forever;
  # - CloudWatch: provider 6.x speaks a protocol moto does not route (alarms, dashboard);
  # - DB parameters come back without their Source, Lambda's LoggingConfig is not stored and
  #   security group rules lose their descriptions: each would show as changed on every plan;
  # - Lambda invocations need Docker: the local stack runs the bootstrap's code itself;
  # - a bucket policy denying non-TLS requests denies everything on an HTTP endpoint.
  # (Enhanced Monitoring and the RDS CA are ordinary variables; envs/local.tfvars sets them.)
  emulator_gaps = {
    redrive_allow_policy  = !local.emulated
    alarms                = !local.emulated
    dashboard             = var.dashboard_enabled && !local.emulated
    db_parameters         = !local.emulated
    lambda_logging_config = !local.emulated
    rule_descriptions     = !local.emulated
    bootstrap_invocation  = !local.emulated
    tls_only_buckets      = !local.emulated
  }
}

provider "aws" {
  region = var.region

  # Local profile: the emulator takes any credentials and has no instance metadata service.
  skip_credentials_validation = local.emulated
  skip_metadata_api_check     = local.emulated
  s3_use_path_style           = local.emulated
  # Bucket tags go through S3 Control, whose SDK puts the account id in front of the host
  # ("123456789012.127.0.0.1"), a name no resolver knows. The emulator also answers as an HTTP
  # proxy, so those requests reach it by name; loopback hosts never go through a proxy.
  http_proxy = local.emulated ? trimsuffix(var.aws_endpoint_url, "/") : null

  # Every service this stack calls, so none of them can reach real AWS from the local profile.
  dynamic "endpoints" {
    for_each = local.emulated ? [trimsuffix(var.aws_endpoint_url, "/")] : []

    content {
      apigateway     = endpoints.value
      cloudwatch     = endpoints.value
      dynamodb       = endpoints.value
      ec2            = endpoints.value
      glue           = endpoints.value
      iam            = endpoints.value
      kms            = endpoints.value
      lambda         = endpoints.value
      logs           = endpoints.value
      rds            = endpoints.value
      s3             = endpoints.value
      s3control      = endpoints.value
      secretsmanager = endpoints.value
      sns            = endpoints.value
      sqs            = endpoints.value
      ssm            = endpoints.value
      sts            = endpoints.value
    }
  }
}

module "network" {
  source = "./modules/network"

  name                        = var.name
  vpc_cidr                    = var.vpc_cidr
  availability_zone_ids       = var.availability_zone_ids
  az_count                    = var.az_count
  database_port               = 3306
  proxy_enabled               = var.db_proxy_enabled
  flow_logs_enabled           = var.flow_logs_enabled
  flow_logs_retention_in_days = var.log_retention_in_days
  logs_kms_key_arn            = var.kms_key_arn
  rule_descriptions_enabled   = local.emulator_gaps.rule_descriptions

  # The endpoints carry the functions' data calls; nothing else of the account gets through.
  endpoint_policy_resources = {
    dynamodb       = [module.table.table_arn]
    secretsmanager = [module.database.master_user_secret_arn, module.db_bootstrap.application_secret_arn]
    sqs            = [module.queue.queue_arn, module.queue.dlq_arn]
  }

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
  kms_key_arn                    = local.table_kms_key_arn
  deletion_protection_enabled    = var.deletion_protection
  stream_view_type               = var.change_stream_enabled ? "NEW_AND_OLD_IMAGES" : null

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
  required_connections  = local.db_required_connections
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
  database_insights_mode       = var.db_database_insights_mode
  monitoring_interval          = var.db_monitoring_interval

  proxy_enabled            = var.db_proxy_enabled
  proxy_secret_arns        = [module.db_bootstrap.application_secret_arn]
  proxy_security_group_ids = compact([module.network.proxy_security_group_id])

  tags = local.tags
}

# The schema and the application's least-privilege MySQL user; the handler never sees the
# master secret.
module "db_bootstrap" {
  source = "./modules/db_bootstrap"

  name         = var.name
  zip_path     = local.bootstrap_zip_path
  architecture = var.function_architecture
  invoke       = local.emulator_gaps.bootstrap_invocation

  database = {
    host = local.bootstrap_db.host
    port = local.bootstrap_db.port
    name = module.database.db_name
    tls  = local.bootstrap_db.tls
  }
  master_secret_arn              = module.database.master_user_secret_arn
  master_secret_kms_key_arn      = var.kms_key_arn
  application_secret_kms_key_arn = var.kms_key_arn

  vpc_config = {
    subnet_ids         = module.network.private_subnet_ids
    security_group_ids = [module.network.function_security_group_id]
  }
  environment_variables = local.function_extra_environment

  manage_logging_config = local.emulator_gaps.lambda_logging_config
  log_retention_in_days = var.log_retention_in_days
  logs_kms_key_arn      = var.kms_key_arn

  tags = local.tags
}

locals {
  # The handler's own record counts (lambdas/registration/batch_metrics.py) go out as one EMF
  # line per batch: CloudWatch Logs extracts them, so the role needs no cloudwatch:PutMetricData.
  # The namespace is the one change-counts publishes to; the service dimension is the function's.
  handler_metrics = {
    namespace = "Registrations"
    service   = var.name
  }
}

# The registration consumer: SQS -> this function (alias live) -> DynamoDB + MySQL.
module "registration" {
  source = "./modules/function"

  function_name   = var.name
  description     = "Writes user registrations from SQS into DynamoDB and MySQL"
  zip_path        = local.function_zip_path
  handler         = "registration.app.lambda_handler"
  architecture    = var.function_architecture
  timeout_seconds = var.function_timeout_seconds
  memory_size     = var.function_memory_size
  log_level       = var.function_log_level
  tracing_mode    = var.function_tracing_mode

  reserved_concurrent_executions = var.function_reserved_concurrency
  manage_logging_config          = local.emulator_gaps.lambda_logging_config
  log_retention_in_days          = var.log_retention_in_days
  logs_kms_key_arn               = var.kms_key_arn

  # Contract (docs/CONTRACTS.md): names and ARNs only, never a secret value.
  environment_variables = merge(local.function_extra_environment, {
    TABLE_NAME                   = module.table.table_name
    DB_HOST                      = local.function_db.host
    DB_PORT                      = tostring(local.function_db.port)
    DB_NAME                      = module.database.db_name
    DB_SECRET_ARN                = local.registration_db_secret_arn
    DB_TLS                       = local.function_db.tls
    DLQ_URL                      = module.queue.dlq_url
    POWERTOOLS_SERVICE_NAME      = local.handler_metrics.service
    POWERTOOLS_METRICS_NAMESPACE = local.handler_metrics.namespace
    POWERTOOLS_LOG_LEVEL         = var.function_log_level
  })

  policy_statements = local.registration_policy_statements

  vpc_config = {
    subnet_ids         = module.network.private_subnet_ids
    security_group_ids = [module.network.function_security_group_id]
  }

  sqs_event_source = {
    queue_arn                          = module.queue.queue_arn
    queue_visibility_timeout_seconds   = module.queue.visibility_timeout_seconds
    queue_kms_key_arn                  = module.queue.kms_key_arn
    enabled                            = var.event_source_mapping_enabled
    batch_size                         = var.event_source_batch_size
    maximum_batching_window_in_seconds = var.event_source_maximum_batching_window_in_seconds
    maximum_concurrency                = var.event_source_maximum_concurrency
  }

  tags = local.tags
}

moved {
  from = module.function
  to   = module.registration
}

moved {
  from = module.registration.aws_lambda_event_source_mapping.this
  to   = module.registration.aws_lambda_event_source_mapping.sqs[0]
}

module "observability" {
  source = "./modules/observability"

  name                   = var.name
  queue_name             = module.queue.queue_name
  dlq_name               = module.queue.dlq_name
  function_name          = module.registration.function_name
  table_name             = module.table.table_name
  db_instance_identifier = module.database.identifier
  db_max_connections     = module.database.max_connections

  function_alias_name       = module.registration.alias_name
  handler_metrics_namespace = local.handler_metrics.namespace
  handler_metrics_service   = local.handler_metrics.service

  alarms_enabled    = local.emulator_gaps.alarms
  create_sns_topic  = var.alarm_topic_enabled
  alarm_email       = var.alarm_email
  alarm_topic_arns  = var.alarm_topic_arns
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

################################################################################
# HTTP ingestion (issue #13): POST /registrations -> validated -> SendMessage, no function
################################################################################

module "ingest_api" {
  source = "./modules/ingest_api"

  name              = "${var.name}-ingest"
  queue_arn         = module.queue.queue_arn
  queue_kms_key_arn = module.queue.kms_key_arn
  request_schema    = file("${path.root}/lambdas/registration/contract.schema.json")

  auth                 = var.ingest_auth
  stage_name           = var.ingest_stage_name
  throttle_rate_limit  = var.ingest_throttle_rate_limit
  throttle_burst_limit = var.ingest_throttle_burst_limit
  usage_plan           = var.ingest_usage_plan
  allowed_origins      = var.ingest_allowed_origins

  log_retention_in_days = var.log_retention_in_days
  logs_kms_key_arn      = var.kms_key_arn

  # moto has no AWS managed policies (AmazonAPIGatewayPushToCloudWatchLogs) and does not route
  # CloudWatch alarms for provider 6.x: both only against real AWS (envs/README.md).
  manage_account_cloudwatch_role = !local.emulated
  alarms_enabled                 = local.emulator_gaps.alarms
  alarm_actions                  = module.observability.alarm_actions

  tags = local.tags
}

################################################################################
# Change stream (issue #17): the users table's stream -> the lake (+ window counts)
################################################################################

module "change_stream" {
  source = "./modules/change_stream"
  count  = var.change_stream_enabled ? 1 : 0

  name                       = var.name
  table_stream_arn           = module.table.stream_arn
  zip_path                   = local.changes_zip_path
  environment_variables      = local.function_extra_environment
  tumbling_window_in_seconds = var.change_stream_tumbling_window_in_seconds
  kms_key_arn                = var.kms_key_arn
  lake_force_destroy         = var.lake_force_destroy
  tls_only_bucket_policy     = local.emulator_gaps.tls_only_buckets

  # moto runs any DynamoDB stream mapping itself, through Docker: the local runner polls instead.
  publish_mappings_for_local_runner = local.emulated
  manage_logging_config             = local.emulator_gaps.lambda_logging_config
  log_retention_in_days             = var.log_retention_in_days
  logs_kms_key_arn                  = var.kms_key_arn
  alarms_enabled                    = local.emulator_gaps.alarms
  alarm_actions                     = module.observability.alarm_actions

  tags = local.tags
}

################################################################################
# Bulk import (issue #14): files dropped under imports/ in its bucket flow, row by row, onto the
# registration queue through the importer (modules/bulk_import, lambdas/importer).
################################################################################

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
  tls_only_bucket_policy         = local.emulator_gaps.tls_only_buckets

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
