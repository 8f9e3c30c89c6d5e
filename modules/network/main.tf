data "aws_region" "current" {}

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

# Regular Availability Zones only: Local and Wavelength Zones lack the services used here.
data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Zones are derived from the region by design (no hard-coded names); the first az_count in name order are used, so a zone AWS adds later does not move existing subnets.
  state = "available"

  filter {
    name   = "zone-type"
    values = ["availability-zone"]
  }
}

locals {
  region = data.aws_region.current.region
  azs    = slice(data.aws_availability_zones.available.names, 0, min(var.az_count, length(data.aws_availability_zones.available.names)))

  private_subnets = {
    for index, az in local.azs : az => cidrsubnet(var.vpc_cidr, var.subnet_newbits, index)
  }

  tags = merge({ "terraform-module" = "network" }, var.tags)
}

resource "aws_vpc" "this" {
  cidr_block = var.vpc_cidr

  # Both are required for the private DNS names of interface endpoints.
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(local.tags, { Name = var.name })
}

# Strip every rule from the default security group so nothing can use it by accident.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-default-deny" })
}

resource "aws_subnet" "private" {
  for_each = local.private_subnets

  vpc_id                  = aws_vpc.this.id
  availability_zone       = each.key
  cidr_block              = each.value
  map_public_ip_on_launch = false

  tags = merge(local.tags, { Name = "${var.name}-private-${each.key}", Tier = "private" })

  lifecycle {
    precondition {
      condition     = length(local.azs) == var.az_count && length(distinct(local.azs)) == length(local.azs)
      error_message = "Region ${local.region} offers ${length(data.aws_availability_zones.available.names)} available Availability Zones; az_count = ${var.az_count} subnets need as many distinct zones."
    }
  }
}

# One route table per zone, without a default route: no NAT and no internet gateway. Every AWS
# API the function needs is reached through the VPC endpoints below.
resource "aws_route_table" "private" {
  for_each = local.private_subnets

  vpc_id = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-private-${each.key}" })
}

resource "aws_route_table_association" "private" {
  for_each = local.private_subnets

  subnet_id      = aws_subnet.private[each.key].id
  route_table_id = aws_route_table.private[each.key].id
}

################################################################################
# Security groups (rules are separate resources, one per rule)
################################################################################

resource "aws_security_group" "function" {
  #checkov:skip=CKV2_AWS_5:Attached to the Lambda function by the function module (through this module's output).
  name        = "${var.name}-function"
  description = "Registration function: egress to the database and to AWS APIs through VPC endpoints only"
  vpc_id      = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-function" })
}

resource "aws_security_group" "database" {
  #checkov:skip=CKV2_AWS_5:Attached to the RDS instance by the database module (through this module's output).
  name        = "${var.name}-database"
  description = "Registration database: MySQL from the function security group only"
  vpc_id      = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-database" })
}

resource "aws_security_group" "endpoints" {
  name        = "${var.name}-endpoints"
  description = "Interface VPC endpoints: HTTPS from the function security group only"
  vpc_id      = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-endpoints" })
}

resource "aws_vpc_security_group_egress_rule" "function_to_database" {
  security_group_id            = aws_security_group.function.id
  description                  = var.rule_descriptions_enabled ? "MySQL to the database" : null
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = aws_security_group.database.id

  tags = local.tags
}

resource "aws_vpc_security_group_egress_rule" "function_to_endpoints" {
  security_group_id            = aws_security_group.function.id
  description                  = var.rule_descriptions_enabled ? "HTTPS to the interface endpoints (Secrets Manager, SQS)" : null
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.endpoints.id

  tags = local.tags
}

resource "aws_vpc_security_group_egress_rule" "function_to_dynamodb" {
  security_group_id = aws_security_group.function.id
  description       = var.rule_descriptions_enabled ? "HTTPS to DynamoDB through the gateway endpoint" : null
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = aws_vpc_endpoint.dynamodb.prefix_list_id

  tags = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "database_from_function" {
  security_group_id            = aws_security_group.database.id
  description                  = var.rule_descriptions_enabled ? "MySQL from the function" : null
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = aws_security_group.function.id

  tags = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_function" {
  security_group_id            = aws_security_group.endpoints.id
  description                  = var.rule_descriptions_enabled ? "HTTPS from the function" : null
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.function.id

  tags = local.tags
}

################################################################################
# VPC endpoints
################################################################################

resource "aws_vpc_endpoint" "dynamodb" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${local.region}.dynamodb"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [for az in local.azs : aws_route_table.private[az].id]

  tags = merge(local.tags, { Name = "${var.name}-dynamodb" })
}

resource "aws_vpc_endpoint" "interface" {
  for_each = var.interface_endpoint_services

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = [for az in local.azs : aws_subnet.private[az].id]
  security_group_ids  = [aws_security_group.endpoints.id]

  tags = merge(local.tags, { Name = "${var.name}-${each.key}" })
}

################################################################################
# Flow logs
################################################################################

resource "aws_cloudwatch_log_group" "flow_logs" {
  count = var.flow_logs_enabled ? 1 : 0

  name              = "/aws/vpc-flow-logs/${var.name}"
  retention_in_days = var.flow_logs_retention_in_days
  kms_key_id        = var.logs_kms_key_arn

  tags = local.tags
}

data "aws_iam_policy_document" "flow_logs_assume" {
  count = var.flow_logs_enabled ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }

    # Confused-deputy protection: only flow logs of this account may assume the role.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:ec2:${local.region}:${data.aws_caller_identity.current.account_id}:vpc-flow-log/*"]
    }
  }
}

data "aws_iam_policy_document" "flow_logs" {
  count = var.flow_logs_enabled ? 1 : 0

  statement {
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogStreams",
    ]
    resources = ["${aws_cloudwatch_log_group.flow_logs[0].arn}:*"]
  }
}

resource "aws_iam_role" "flow_logs" {
  count = var.flow_logs_enabled ? 1 : 0

  name               = "${var.name}-vpc-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume[0].json

  tags = local.tags
}

resource "aws_iam_role_policy" "flow_logs" {
  count = var.flow_logs_enabled ? 1 : 0

  name   = "deliver-to-log-group"
  role   = aws_iam_role.flow_logs[0].id
  policy = data.aws_iam_policy_document.flow_logs[0].json
}

resource "aws_flow_log" "this" {
  count = var.flow_logs_enabled ? 1 : 0

  vpc_id                   = aws_vpc.this.id
  traffic_type             = "ALL"
  log_destination_type     = "cloud-watch-logs"
  log_destination          = aws_cloudwatch_log_group.flow_logs[0].arn
  iam_role_arn             = aws_iam_role.flow_logs[0].arn
  max_aggregation_interval = 600

  tags = merge(local.tags, { Name = var.name })
}
