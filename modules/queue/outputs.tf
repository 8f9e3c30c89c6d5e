output "queue_url" {
  description = "URL of the main queue."
  value       = aws_sqs_queue.this.url
}

output "queue_arn" {
  description = "ARN of the main queue."
  value       = aws_sqs_queue.this.arn
}

output "queue_name" {
  description = "Name of the main queue."
  value       = aws_sqs_queue.this.name
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "visibility_timeout_seconds" {
  description = "Visibility timeout applied to the main queue."
  value       = aws_sqs_queue.this.visibility_timeout_seconds
}

output "kms_key_arn" {
  description = "KMS key encrypting both queues, or null for SSE-SQS."
  value       = var.kms_key_arn
}
