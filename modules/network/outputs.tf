output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "availability_zone_ids" {
  description = "Availability Zone ids of the private subnets, in subnet order."
  value       = local.zone_ids
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, one per Availability Zone."
  value       = [for zone_id in local.zone_ids : aws_subnet.private[zone_id].id]
}

output "private_route_table_ids" {
  description = "IDs of the private route tables, one per Availability Zone."
  value       = [for zone_id in local.zone_ids : aws_route_table.private[zone_id].id]
}

output "function_security_group_id" {
  description = "Security group for the function: egress to the database and the endpoints only."
  value       = aws_security_group.function.id
}

output "database_security_group_id" {
  description = "Security group for the database: ingress from the function security group only."
  value       = aws_security_group.database.id
}

output "endpoints_security_group_id" {
  description = "Security group of the interface VPC endpoints."
  value       = aws_security_group.endpoints.id
}

output "dynamodb_endpoint_id" {
  description = "ID of the DynamoDB gateway endpoint."
  value       = aws_vpc_endpoint.dynamodb.id
}

output "dynamodb_prefix_list_id" {
  description = "Prefix list of DynamoDB in this region (destination of the function's HTTPS egress rule)."
  value       = aws_vpc_endpoint.dynamodb.prefix_list_id
}

output "interface_endpoint_ids" {
  description = "IDs of the interface endpoints, by service short name."
  value       = { for service, endpoint in aws_vpc_endpoint.interface : service => endpoint.id }
}

output "flow_log_group_name" {
  description = "CloudWatch log group of the VPC flow logs, or null when disabled."
  value       = one(aws_cloudwatch_log_group.flow_logs[*].name)
}

output "proxy_security_group_id" {
  description = "Security group of the RDS Proxy; null when proxy_enabled is false."
  value       = one(aws_security_group.proxy[*].id)
}
