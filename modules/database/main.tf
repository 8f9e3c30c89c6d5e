data "aws_partition" "current" {}

locals {
  # "8.4" or "8.4.7" -> parameter group family "mysql8.4".
  major_version = join(".", slice(split(".", var.engine_version), 0, 2))

  final_snapshot_identifier = coalesce(var.final_snapshot_identifier, "${var.identifier}-final")

  parameters = {
    # 1 = ON: the server refuses unencrypted connections (instances take 1/0, clusters ON/OFF).
    require_secure_transport = "1"
    character_set_server     = "utf8mb4"
    collation_server         = "utf8mb4_0900_ai_ci"
    max_connections          = tostring(var.max_connections)
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
  }
}

resource "aws_iam_role" "monitoring" {
  count = var.monitoring_interval > 0 ? 1 : 0

  name               = "${var.identifier}-rds-monitoring"
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

  monitoring_interval = var.monitoring_interval
  monitoring_role_arn = var.monitoring_interval > 0 ? aws_iam_role.monitoring[0].arn : null

  tags = local.tags

  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy_attachment.monitoring,
  ]
}
