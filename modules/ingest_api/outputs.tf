output "api_id" {
  description = "ID of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "stage_name" {
  description = "Name of the stage."
  value       = aws_api_gateway_stage.this.stage_name
}

output "invoke_url" {
  description = "URL producers POST registrations to."
  value       = "${aws_api_gateway_stage.this.invoke_url}/${aws_api_gateway_resource.registrations.path_part}"
}

output "execution_arn" {
  description = "Execution ARN of the stage; with auth = \"iam\", grant producers execute-api:Invoke on \"<execution_arn>/POST/registrations\"."
  value       = aws_api_gateway_stage.this.execution_arn
}

output "api_key_id" {
  description = "ID of the producers' API key (auth = \"api_key\"), or null. Its value is never an output: read it with `aws apigateway get-api-key --include-value`."
  value       = one(aws_api_gateway_api_key.this[*].id)
}

output "access_log_group_name" {
  description = "Log group of the stage's access logs."
  value       = aws_cloudwatch_log_group.access.name
}

output "integration_role_arn" {
  description = "Role API Gateway assumes to send to the queue."
  value       = aws_iam_role.integration.arn
}

output "alarm_names" {
  description = "Names of the stage's alarms, by purpose."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.alarm_name }
}
