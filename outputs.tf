# Names fixed by docs/CONTRACTS.md (plus db_bootstrap_event, for the local stack). Nothing secret:
# the database passwords stay in Secrets Manager.

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
  description = "ARN of the Secrets Manager secret with the application user's credentials, written by the bootstrap (the ARN only)."
  value       = local.registration_db_secret_arn
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = module.registration.function_name
}

output "log_group_name" {
  description = "Log group of the function."
  value       = module.registration.log_group_name
}

output "event_source_mapping_uuid" {
  description = "UUID of the SQS event source mapping."
  value       = module.registration.event_source_mapping_uuid
}

output "db_bootstrap_event" {
  description = "Input of the database bootstrap function (ARNs, endpoint, user name, grants; no secret): Terraform invokes it on AWS, scripts/local_stack.py runs its code with it locally."
  value       = module.db_bootstrap.event
}

output "ingest_url" {
  description = "URL producers POST registrations to (API Gateway; locally served by scripts/local_gateway.py)."
  value       = module.ingest_api.invoke_url
}

output "ingest_api_id" {
  description = "ID of the ingest REST API."
  value       = module.ingest_api.api_id
}

output "ingest_stage_name" {
  description = "Stage of the ingest REST API."
  value       = module.ingest_api.stage_name
}

output "ingest_api_key_id" {
  description = "ID of the producers' API key (ingest_auth = \"api_key\"), or null. Never its value: `aws apigateway get-api-key --api-key <id> --include-value`."
  value       = module.ingest_api.api_key_id
}

output "lake_bucket" {
  description = "The change lake's bucket (`make lake`), or null without the change stream."
  value       = var.change_stream_enabled ? module.change_stream[0].lake_bucket : null
}

output "change_failure_queue_url" {
  description = "Metadata of change-stream batches given up on, or null without the change stream."
  value       = var.change_stream_enabled ? module.change_stream[0].failure_queue_url : null
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
