output "bucket_name" {
  description = "Bucket to upload imports to (keys under imports/, ending in .csv, .jsonl or their .gz)."
  value       = module.bucket.name
}

output "bucket_arn" {
  description = "ARN of the import bucket."
  value       = module.bucket.arn
}

output "import_prefix" {
  description = "Prefix an upload must have to be imported; reports are written under <prefix>reports/."
  value       = local.import_prefix
}

output "queue_url" {
  description = "URL of the import queue (S3 notifications and continuations)."
  value       = module.queue.queue_url
}

output "queue_arn" {
  description = "ARN of the import queue."
  value       = module.queue.queue_arn
}

output "dlq_url" {
  description = "URL of the import DLQ (chunks that kept failing)."
  value       = module.queue.dlq_url
}

output "function_name" {
  description = "Name of the importer function."
  value       = module.function.function_name
}

output "log_group_name" {
  description = "Log group of the importer."
  value       = module.function.log_group_name
}

output "event_source_mapping_uuid" {
  description = "UUID of the import queue's event source mapping."
  value       = module.function.event_source_mapping_uuid
}
