variable "name" {
  description = "Name prefix for every resource of the network."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,38}$", var.name))
    error_message = "name must be 1-39 lowercase letters, digits or '-', starting with a letter or digit."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && can(regex("^[0-9.]+/(1[6-9]|2[0-4])$", var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block between /16 and /24."
  }
}

variable "availability_zone_ids" {
  description = "Zone ids of the private subnets (e.g. [\"use1-az1\", \"use1-az2\"]), like terraform-aws-modules/vpc's azs but by id, which names the same physical zone in every account. null picks the first az_count ids of the Region in sorted order, minus excluded_availability_zone_ids. Each zone keeps its CIDR block (the id's number) whatever else is chosen."
  type        = list(string)
  default     = null

  validation {
    condition     = var.availability_zone_ids == null ? true : length(var.availability_zone_ids) >= 2 && alltrue([for id in var.availability_zone_ids : can(regex("^[a-z]+[0-9]+-az[0-9]+$", id))])
    error_message = "availability_zone_ids must hold at least two zone ids such as use1-az1."
  }
}

variable "az_count" {
  description = "Private subnets when availability_zone_ids is null: one per zone, at least 2 so the function and the database survive the loss of one zone."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6 && floor(var.az_count) == var.az_count
    error_message = "az_count must be a whole number between 2 and 6."
  }
}

variable "excluded_availability_zone_ids" {
  description = "Zone ids never chosen by default: zones where Lambda or RDS is not offered or new subnets are refused (use1-az3 in us-east-1, usw1-az2 in us-west-1, apne1-az3 in ap-northeast-1)."
  type        = list(string)
  default     = ["use1-az3", "usw1-az2", "apne1-az3"]
}

variable "subnet_newbits" {
  description = "Bits added to the VPC prefix for each private subnet (8 turns a /16 into /24 subnets)."
  type        = number
  default     = 8

  validation {
    condition     = var.subnet_newbits >= 2 && var.subnet_newbits <= 12
    error_message = "subnet_newbits must be between 2 and 12."
  }
}

variable "database_port" {
  description = "TCP port of the database; the only port the function may open towards the database security group."
  type        = number
  default     = 3306

  validation {
    condition     = var.database_port >= 1150 && var.database_port <= 65535
    error_message = "database_port must be between 1150 and 65535 (the RDS range for MySQL)."
  }
}

variable "interface_endpoint_services" {
  description = "AWS services reached through interface VPC endpoints with private DNS (service short names, e.g. \"secretsmanager\", \"sqs\"). DynamoDB always gets a gateway endpoint."
  type        = set(string)
  default     = ["secretsmanager", "sqs"]

  validation {
    condition     = alltrue([for service in var.interface_endpoint_services : can(regex("^[a-z0-9.-]+$", service))])
    error_message = "interface_endpoint_services must hold service short names such as \"sqs\"."
  }
}

variable "rule_descriptions_enabled" {
  description = "Describe each security group rule. Only for an emulator that does not return rule descriptions (moto 5.2.5; a change would show on every plan) should this be false."
  type        = bool
  default     = true
}

variable "proxy_enabled" {
  description = "Create the security group of an RDS Proxy between the functions and the database (MySQL from the function group, to the database and the Secrets Manager endpoint). The function group keeps its direct path: the bootstrap function logs in as the master user, which the proxy does not serve."
  type        = bool
  default     = false
}

variable "endpoint_policy_resources" {
  description = "ARNs each VPC endpoint admits, by service (dynamodb, secretsmanager, sqs): the endpoint policies allow this stack's data calls on these resources only, by principals of this account. A service left out is limited to this account's resources in the Region."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for service in keys(var.endpoint_policy_resources) : contains(["dynamodb", "secretsmanager", "sqs"], service)])
    error_message = "endpoint_policy_resources keys must be dynamodb, secretsmanager or sqs."
  }
}

variable "flow_logs_enabled" {
  description = "Send VPC flow logs (all traffic) to a CloudWatch log group."
  type        = bool
  default     = true
}

variable "flow_logs_retention_in_days" {
  description = "Retention of the flow-log group. One of the values CloudWatch Logs accepts."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_logs_retention_in_days)
    error_message = "flow_logs_retention_in_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "logs_kms_key_arn" {
  description = "ARN of a customer managed KMS key for the flow-log group. null keeps CloudWatch Logs' default encryption."
  type        = string
  default     = null

  validation {
    condition     = var.logs_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:", var.logs_kms_key_arn))
    error_message = "logs_kms_key_arn must be a KMS key ARN."
  }
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
