output "alarm_names" {
  description = "Names of the CloudWatch alarms, by purpose."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.alarm_name }
}

output "sns_topic_arn" {
  description = "ARN of the created notification topic, or null."
  value       = one(aws_sns_topic.alarms[*].arn)
}

output "sns_kms_key_arn" {
  description = "KMS key encrypting the notification topic, or null."
  value       = var.create_sns_topic ? local.topic_kms_key : null
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard, or null."
  value       = one(aws_cloudwatch_dashboard.this[*].dashboard_name)
}

output "alarm_actions" {
  description = "Where every alarm of the stack notifies: the created topic and alarm_topic_arns."
  value       = local.alarm_actions
}
