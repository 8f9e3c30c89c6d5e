data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  # "8.4" or "8.4.7" -> parameter group family "mysql8.4".
  major_version = join(".", slice(split(".", var.engine_version), 0, 2))

  # A stable suffix kept in state: a second instance of the same identifier (recreated after a
  # destroy) must not collide with the first one's final snapshot.
  final_snapshot_identifier = coalesce(var.final_snapshot_identifier, "${var.identifier}-final-${terraform_data.final_snapshot_suffix.output}")

  # Performance Insights is not offered on the micro and small burstable classes.
  performance_insights_supported = !can(regex("^db\\.t[2-4]g?\\.(micro|small)$", var.instance_class))

  parameters = {
    # 1 = ON: the server refuses unencrypted connections (instances take 1/0, clusters ON/OFF).
    require_secure_transport = "1"
    character_set_server     = "utf8mb4"
    collation_server         = "utf8mb4_0900_ai_ci"
    max_connections          = tostring(var.max_connections)
    # A retired Lambda environment never closes its connection; the server must, well before
    # the 8 h default, or a few deploys exhaust max_connections.
    wait_timeout        = tostring(var.idle_connection_timeout_seconds)
    interactive_timeout = tostring(var.idle_connection_timeout_seconds)
    # Feed the slowquery export; without it the exported log stays empty.
    slow_query_log  = "1"
    long_query_time = "1"
  }

  tags = merge({ "terraform-module" = "database" }, var.tags)
}

resource "aws_db_subnet_group" "this" {
  name        = var.identifier
  description = "Private subnets of ${var.identifier}"
  subnet_ids  = var.subnet_ids

  tags = local.tags
}

resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.identifier}-"
  description = "${var.identifier}: TLS only, utf8mb4"
  family      = "mysql${local.major_version}"

  dynamic "parameter" {
    for_each = var.manage_parameters ? local.parameters : {}

    content {
      name  = parameter.key
      value = parameter.value
    }
  }

  tags = local.tags

  # A new family (major upgrade) needs the new group before the instance switches to it.
  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = var.max_connections >= var.required_connections
      error_message = "max_connections ${var.max_connections} is below the ${var.required_connections} connections the clients may hold (concurrency x connections per environment, doubled while retired environments wait for wait_timeout, plus the reserve). Raise db_max_connections (and the instance class), lower the concurrency, or enable the RDS Proxy."
    }
  }
}

resource "terraform_data" "final_snapshot_suffix" {
  input = substr(uuid(), 0, 8)

  lifecycle {
    ignore_changes = [input]
  }
}

# RDS would create these on first export, without retention or a key.
resource "aws_cloudwatch_log_group" "this" {
  for_each = var.enabled_cloudwatch_logs_exports

  name              = "/aws/rds/instance/${var.identifier}/${each.key}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn

  tags = local.tags
}

data "aws_iam_policy_document" "monitoring_assume" {
  count = var.monitoring_interval > 0 ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }

    # Confused-deputy protection: only RDS acting for this account may assume the role.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  count = var.monitoring_interval > 0 ? 1 : 0

  name_prefix        = "${substr(var.identifier, 0, 22)}-rds-monitoring-"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume[0].json

  tags = local.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  count = var.monitoring_interval > 0 ? 1 : 0

  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  identifier     = var.identifier
  engine         = "mysql"
  engine_version = var.engine_version
  instance_class = var.instance_class
  port           = var.port
  db_name        = var.db_name

  username                      = var.master_username
  manage_master_user_password   = true
  master_user_secret_kms_key_id = var.kms_key_arn

  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = var.security_group_ids
  publicly_accessible    = false
  multi_az               = var.multi_az
  ca_cert_identifier     = var.ca_cert_identifier

  parameter_group_name                = aws_db_parameter_group.this.name
  iam_database_authentication_enabled = true
  auto_minor_version_upgrade          = true
  allow_major_version_upgrade         = false
  apply_immediately                   = var.apply_immediately

  backup_retention_period   = var.backup_retention_period
  backup_window             = var.backup_window
  maintenance_window        = var.maintenance_window
  copy_tags_to_snapshot     = true
  delete_automated_backups  = true
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = var.skip_final_snapshot
  final_snapshot_identifier = var.skip_final_snapshot ? null : local.final_snapshot_identifier

  enabled_cloudwatch_logs_exports = sort(tolist(var.enabled_cloudwatch_logs_exports))

  performance_insights_enabled          = var.performance_insights_enabled
  performance_insights_kms_key_id       = var.performance_insights_enabled ? var.kms_key_arn : null
  performance_insights_retention_period = var.performance_insights_enabled ? var.performance_insights_retention_period : null
  database_insights_mode                = var.database_insights_mode

  monitoring_interval = var.monitoring_interval
  monitoring_role_arn = var.monitoring_interval > 0 ? aws_iam_role.monitoring[0].arn : null

  tags = local.tags

  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy_attachment.monitoring,
  ]

  lifecycle {
    precondition {
      condition     = !var.performance_insights_enabled || local.performance_insights_supported
      error_message = "Performance Insights is not available on ${var.instance_class} (micro and small burstable classes): choose a larger class or set performance_insights_enabled = false."
    }

    precondition {
      condition     = var.database_insights_mode != "advanced" || (var.performance_insights_enabled && var.performance_insights_retention_period >= 465)
      error_message = "database_insights_mode = \"advanced\" needs Performance Insights enabled with a retention of at least 465 days."
    }
  }
}

################################################################################
# RDS Proxy (optional): pools the functions' connections, so concurrency is no longer bounded by
# max_connections, and fails over without the clients' DNS caches
################################################################################

data "aws_iam_policy_document" "proxy_assume" {
  count = var.proxy_enabled ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["rds.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "proxy" {
  count = var.proxy_enabled ? 1 : 0

  statement {
    sid       = "ReadClientSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = var.proxy_secret_arns
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "DecryptClientSecrets"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${data.aws_region.current.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role" "proxy" {
  count = var.proxy_enabled ? 1 : 0

  name_prefix        = "${substr(var.identifier, 0, 26)}-rds-proxy-"
  assume_role_policy = data.aws_iam_policy_document.proxy_assume[0].json

  tags = local.tags
}

resource "aws_iam_role_policy" "proxy" {
  count = var.proxy_enabled ? 1 : 0

  name   = "read-client-secrets"
  role   = aws_iam_role.proxy[0].id
  policy = data.aws_iam_policy_document.proxy[0].json
}

resource "aws_db_proxy" "this" {
  count = var.proxy_enabled ? 1 : 0

  name                   = var.identifier
  engine_family          = "MYSQL"
  role_arn               = aws_iam_role.proxy[0].arn
  vpc_subnet_ids         = var.subnet_ids
  vpc_security_group_ids = var.proxy_security_group_ids
  require_tls            = true
  idle_client_timeout    = var.idle_connection_timeout_seconds
  debug_logging          = false

  dynamic "auth" {
    for_each = var.proxy_secret_arns

    content {
      auth_scheme = "SECRETS"
      iam_auth    = "DISABLED"
      secret_arn  = auth.value
    }
  }

  tags = local.tags

  depends_on = [aws_iam_role_policy.proxy]

  lifecycle {
    precondition {
      condition     = length(var.proxy_secret_arns) > 0 && length(var.proxy_security_group_ids) > 0
      error_message = "The RDS Proxy needs at least one client secret (proxy_secret_arns) and a security group (proxy_security_group_ids)."
    }
  }
}

resource "aws_db_proxy_default_target_group" "this" {
  count = var.proxy_enabled ? 1 : 0

  db_proxy_name = aws_db_proxy.this[0].name

  connection_pool_config {
    max_connections_percent      = var.proxy_max_connections_percent
    max_idle_connections_percent = floor(var.proxy_max_connections_percent / 2)
    connection_borrow_timeout    = 30
  }
}

resource "aws_db_proxy_target" "this" {
  count = var.proxy_enabled ? 1 : 0

  db_proxy_name          = aws_db_proxy.this[0].name
  target_group_name      = aws_db_proxy_default_target_group.this[0].name
  db_instance_identifier = aws_db_instance.this.identifier
}
