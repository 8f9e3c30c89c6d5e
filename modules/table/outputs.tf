output "table_name" {
  description = "Name of the table."
  value       = aws_dynamodb_table.this.name
}

output "table_arn" {
  description = "ARN of the table."
  value       = aws_dynamodb_table.this.arn
}

output "hash_key" {
  description = "Partition key of the table."
  value       = aws_dynamodb_table.this.hash_key
}

output "kms_key_arn" {
  description = "Customer managed key encrypting the table, or null for the AWS managed key."
  value       = var.kms_key_arn
}

output "stream_arn" {
  description = "ARN of the table's stream, or null without one."
  value       = var.stream_view_type == null ? null : aws_dynamodb_table.this.stream_arn
}
