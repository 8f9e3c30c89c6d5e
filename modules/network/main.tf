data "aws_region" "current" {}

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

# Every regular zone of the Region, whatever its state today: filtering on "available" would let a
# zone that is impaired at plan time shift the subnets and replace what sits in them.
data "aws_availability_zones" "all" {
  #checkov:skip=CKV_AWS_394:The default takes the first az_count zone ids in sorted order, so a zone AWS adds later (a higher id) moves nothing; availability_zone_ids pins them explicitly.
  all_availability_zones = true
  exclude_zone_ids       = var.excluded_availability_zone_ids

  filter {
    name   = "zone-type"
    values = ["availability-zone"]
  }
}

locals {
  region = data.aws_region.current.region

  # Zone ids name the same physical zone in every account (names like us-east-1a do not).
  # Default: the first az_count ids in sorted order, excluding the ones known to refuse Lambda,
  # RDS or new subnets.
  zone_ids = var.availability_zone_ids != null ? var.availability_zone_ids : slice(sort(data.aws_availability_zones.all.zone_ids), 0, min(var.az_count, length(data.aws_availability_zones.all.zone_ids)))

  # A zone keeps its CIDR whatever other zones are chosen: the block index is the zone id's
  # number (use1-az4 -> block 4), not its position in the list.
  private_subnets = {
    for zone_id in local.zone_ids : zone_id => cidrsubnet(var.vpc_cidr, var.subnet_newbits, tonumber(regex("az([0-9]+)$", zone_id)[0]))
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
  availability_zone_id    = each.key
  cidr_block              = each.value
  map_public_ip_on_launch = false

  tags = merge(local.tags, { Name = "${var.name}-private-${each.key}", Tier = "private" })

  lifecycle {
    precondition {
      condition     = (var.availability_zone_ids != null || length(local.zone_ids) == var.az_count) && length(distinct(local.zone_ids)) == length(local.zone_ids)
      error_message = "az_count = ${var.az_count} needs as many distinct Availability Zones; ${local.region} offers ${jsonencode(sort(data.aws_availability_zones.all.zone_ids))} after excluding ${jsonencode(var.excluded_availability_zone_ids)}."
    }

    precondition {
      condition     = length(setsubtract(local.zone_ids, data.aws_availability_zones.all.zone_ids)) == 0
      error_message = "availability_zone_ids ${jsonencode(local.zone_ids)} must be zone ids of ${local.region} (not excluded): ${jsonencode(sort(data.aws_availability_zones.all.zone_ids))}."
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
# RDS Proxy (optional): function -> proxy -> database; the proxy reads its secret via the endpoint
################################################################################

resource "aws_security_group" "proxy" {
  #checkov:skip=CKV2_AWS_5:Attached to the RDS Proxy by the database module (through this module's output).
  count = var.proxy_enabled ? 1 : 0

  name        = "${var.name}-proxy"
  description = "RDS Proxy: MySQL from the function, to the database and Secrets Manager only"
  vpc_id      = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-proxy" })
}

resource "aws_vpc_security_group_egress_rule" "function_to_proxy" {
  count = var.proxy_enabled ? 1 : 0

  security_group_id            = aws_security_group.function.id
  description                  = var.rule_descriptions_enabled ? "MySQL to the RDS Proxy" : null
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = aws_security_group.proxy[0].id

  tags = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "proxy_from_function" {
  count = var.proxy_enabled ? 1 : 0

  security_group_id            = aws_security_group.proxy[0].id
  description                  = var.rule_descriptions_enabled ? "MySQL from the function" : null
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = aws_security_group.function.id

  tags = local.tags
}

resource "aws_vpc_security_group_egress_rule" "proxy_to_database" {
  count = var.proxy_enabled ? 1 : 0

  security_group_id            = aws_security_group.proxy[0].id
  description                  = var.rule_descriptions_enabled ? "MySQL to the database" : null
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = aws_security_group.database.id

  tags = local.tags
}

resource "aws_vpc_security_group_egress_rule" "proxy_to_endpoints" {
  count = var.proxy_enabled ? 1 : 0

  security_group_id            = aws_security_group.proxy[0].id
  description                  = var.rule_descriptions_enabled ? "HTTPS to the Secrets Manager endpoint" : null
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.endpoints.id

  tags = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "database_from_proxy" {
  count = var.proxy_enabled ? 1 : 0

  security_group_id            = aws_security_group.database.id
  description                  = var.rule_descriptions_enabled ? "MySQL from the RDS Proxy" : null
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = aws_security_group.proxy[0].id

  tags = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_proxy" {
  count = var.proxy_enabled ? 1 : 0

  security_group_id            = aws_security_group.endpoints.id
  description                  = var.rule_descriptions_enabled ? "HTTPS from the RDS Proxy" : null
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.proxy[0].id

  tags = local.tags
}

################################################################################
# VPC endpoints
################################################################################

locals {
  # What the stack's code calls through each endpoint; everything else is refused there.
  endpoint_actions = {
    dynamodb       = ["dynamodb:PutItem"]
    secretsmanager = ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]
    sqs            = ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
  }

  endpoint_default_resources = {
    dynamodb       = ["arn:${data.aws_partition.current.partition}:dynamodb:${local.region}:${data.aws_caller_identity.current.account_id}:table/*"]
    secretsmanager = ["arn:${data.aws_partition.current.partition}:secretsmanager:${local.region}:${data.aws_caller_identity.current.account_id}:secret:*"]
    sqs            = ["arn:${data.aws_partition.current.partition}:sqs:${local.region}:${data.aws_caller_identity.current.account_id}:*"]
  }
}

data "aws_iam_policy_document" "endpoint" {
  for_each = setunion(["dynamodb"], var.interface_endpoint_services)

  statement {
    sid       = "ThisStackOnly"
    actions   = lookup(local.endpoint_actions, each.key, ["${each.key}:*"])
    resources = lookup(var.endpoint_policy_resources, each.key, lookup(local.endpoint_default_resources, each.key, ["*"]))

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_vpc_endpoint" "dynamodb" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${local.region}.dynamodb"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [for zone_id in local.zone_ids : aws_route_table.private[zone_id].id]
  policy            = data.aws_iam_policy_document.endpoint["dynamodb"].json

  tags = merge(local.tags, { Name = "${var.name}-dynamodb" })
}

resource "aws_vpc_endpoint" "interface" {
  for_each = var.interface_endpoint_services

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = [for zone_id in local.zone_ids : aws_subnet.private[zone_id].id]
  security_group_ids  = [aws_security_group.endpoints.id]
  policy              = data.aws_iam_policy_document.endpoint[each.key].json

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
    sid = "DeliverToOwnGroup"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogStreams",
    ]
    resources = ["${aws_cloudwatch_log_group.flow_logs[0].arn}:*"]
  }

  # The delivery service looks its group up before writing (AWS's documented flow-log policy);
  # DescribeLogGroups is authorised on the account's log-group namespace, not on one group.
  statement {
    sid       = "FindLogGroup"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["arn:${data.aws_partition.current.partition}:logs:${local.region}:${data.aws_caller_identity.current.account_id}:log-group:*"]
  }
}

resource "aws_iam_role" "flow_logs" {
  count = var.flow_logs_enabled ? 1 : 0

  name_prefix        = "${substr(var.name, 0, 24)}-vpc-flow-logs-"
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

  # Without its policy the role cannot deliver, and the flow log reports an access error.
  depends_on = [aws_iam_role_policy.flow_logs]
}
