output "identifier" {
  description = "Identifier of the DB instance."
  value       = aws_db_instance.this.identifier
}

output "arn" {
  description = "ARN of the DB instance."
  value       = aws_db_instance.this.arn
}

output "resource_id" {
  description = "Resource ID of the instance (the dbi-resource-id used in rds-db:connect IAM policies)."
  value       = aws_db_instance.this.resource_id
}

output "address" {
  description = "Host name of the instance."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the instance."
  value       = aws_db_instance.this.port
}

output "db_name" {
  description = "Schema created with the instance."
  value       = aws_db_instance.this.db_name
}

output "master_username" {
  description = "Master user name (the password lives only in the Secrets Manager secret)."
  value       = aws_db_instance.this.username
}

output "master_user_secret_arn" {
  description = "ARN of the RDS-managed Secrets Manager secret holding {\"username\", \"password\"} of the master user."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "master_user_secret_kms_key_arn" {
  description = "KMS key encrypting the master-user secret."
  value       = aws_db_instance.this.master_user_secret[0].kms_key_id
}

output "max_connections" {
  description = "max_connections of the parameter group."
  value       = var.max_connections
}

output "parameter_group_name" {
  description = "Name of the DB parameter group."
  value       = aws_db_parameter_group.this.name
}

output "engine_version_actual" {
  description = "MySQL version actually running."
  value       = aws_db_instance.this.engine_version_actual
}

output "log_group_names" {
  description = "CloudWatch log groups of the exported MySQL logs, by log type."
  value       = { for log, group in aws_cloudwatch_log_group.this : log => group.name }
}

output "proxy_endpoint" {
  description = "Endpoint of the RDS Proxy; null when proxy_enabled is false."
  value       = one(aws_db_proxy.this[*].endpoint)
}

output "final_snapshot_identifier" {
  description = "Name the final snapshot will get on deletion (null when skip_final_snapshot)."
  value       = var.skip_final_snapshot ? null : local.final_snapshot_identifier
}
