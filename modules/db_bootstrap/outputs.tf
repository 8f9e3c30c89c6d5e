output "application_secret_arn" {
  description = "Secret with {\"username\", \"password\", ...} of the application user: what the handler reads (DB_SECRET_ARN)."
  value       = aws_secretsmanager_secret.application.arn
}

output "application_username" {
  description = "MySQL user of the application."
  value       = var.application_username
}

output "function_name" {
  description = "Name of the bootstrap function."
  value       = module.function.function_name
}

output "event" {
  description = "The bootstrap function's input (no secret in it); the local stack runs the function's code with it."
  value       = local.event
}

output "result" {
  description = "What the last invocation did (user, grants, secret version; never the password); null when not invoked by Terraform."
  value       = try(jsondecode(aws_lambda_invocation.this[0].result), null)
}
