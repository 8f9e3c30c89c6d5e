# Names fixed by docs/CONTRACTS.md. Nothing secret: the database password stays in Secrets Manager.

output "queue_url" {
  description = "URL of the registration queue."
  value       = module.queue.queue_url
}

output "queue_arn" {
  description = "ARN of the registration queue."
  value       = module.queue.queue_arn
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = module.queue.dlq_url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = module.queue.dlq_arn
}

output "table_name" {
  description = "DynamoDB table of the users."
  value       = module.table.table_name
}

output "db_host" {
  description = "MySQL host the function uses (the RDS address, or the local override)."
  value       = local.function_db.host
}

output "db_port" {
  description = "MySQL port the function uses."
  value       = local.function_db.port
}

output "db_name" {
  description = "MySQL schema."
  value       = module.database.db_name
}

output "db_secret_arn" {
  description = "ARN of the RDS-managed Secrets Manager secret with the database credentials (the ARN only)."
  value       = module.database.master_user_secret_arn
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = module.function.function_name
}

output "log_group_name" {
  description = "Log group of the function."
  value       = module.function.log_group_name
}

output "event_source_mapping_uuid" {
  description = "UUID of the SQS event source mapping."
  value       = module.function.event_source_mapping_uuid
}

output "import_bucket_name" {
  description = "Bucket for bulk imports: upload to imports/<name>.csv|.jsonl[.gz] (make import FILE=...)."
  value       = module.bulk_import.bucket_name
}

output "import_queue_url" {
  description = "URL of the import queue (S3 notifications and the importer's continuations)."
  value       = module.bulk_import.queue_url
}

output "import_queue_arn" {
  description = "ARN of the import queue."
  value       = module.bulk_import.queue_arn
}

output "importer_function_name" {
  description = "Name of the importer function."
  value       = module.bulk_import.function_name
}
