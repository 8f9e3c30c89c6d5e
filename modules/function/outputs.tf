output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Unqualified ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "version" {
  description = "Version this apply published (the alias may still point at an earlier one: the release command moves it)."
  value       = aws_lambda_function.this.version
}

output "qualified_arn" {
  description = "ARN of the version this apply published."
  value       = aws_lambda_function.this.qualified_arn
}

output "alias_name" {
  description = "Name of the alias the event sources invoke (live)."
  value       = aws_lambda_alias.live.name
}

output "alias_arn" {
  description = "ARN of the alias live: what callers and event sources should invoke."
  value       = aws_lambda_alias.live.arn
}

output "alias_invoke_arn" {
  description = "Invoke ARN of the alias live (API Gateway integrations)."
  value       = aws_lambda_alias.live.invoke_arn
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
  description = "UUID of the SQS event source mapping; null without sqs_event_source."
  value       = one(aws_lambda_event_source_mapping.sqs[*].uuid)
}

output "source_code_hash" {
  description = "Base64 SHA-256 of the deployed zip."
  value       = aws_lambda_function.this.source_code_hash
}

output "environment_variable_names" {
  description = "Names of the function's environment variables."
  value       = sort(keys(var.environment_variables))
}
