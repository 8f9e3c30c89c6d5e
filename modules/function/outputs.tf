output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the execution role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the execution role."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "Log group of the function."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the function's log group."
  value       = aws_cloudwatch_log_group.this.arn
}

output "event_source_mapping_uuid" {
  description = "UUID of the SQS event source mapping."
  value       = aws_lambda_event_source_mapping.this.uuid
}

output "event_source_mapping_enabled" {
  description = "Whether the event source mapping polls the queue."
  value       = aws_lambda_event_source_mapping.this.enabled
}

output "source_code_hash" {
  description = "Base64 SHA-256 of the deployed zip."
  value       = aws_lambda_function.this.source_code_hash
}

output "environment_variable_names" {
  description = "Names of the function's environment variables (values are not secret, but names are what callers need)."
  value       = sort(keys(local.environment_variables))
}
