output "lake_bucket" {
  description = "The lake's bucket (changes under registrations/, window counts under counts/)."
  value       = module.lake.name
}

output "lake_bucket_arn" {
  description = "ARN of the lake's bucket."
  value       = module.lake.arn
}

output "changes_function_name" {
  description = "The lake writer."
  value       = module.function["changes"].function_name
}

output "counts_function_name" {
  description = "The tumbling-window counter."
  value       = module.function["counts"].function_name
}

output "failure_queue_url" {
  description = "Metadata of stream batches given up on (retries exhausted or records too old)."
  value       = aws_sqs_queue.failures.url
}

output "glue_database_name" {
  description = "Glue database with the table `changes` (null when the catalog is off)."
  value       = var.glue_catalog_enabled ? aws_glue_catalog_database.lake[0].name : null
}

output "event_source_mapping_uuids" {
  description = "UUIDs of the two stream mappings (the SSM-published ids locally)."
  value = var.publish_mappings_for_local_runner ? {
    for key, _ in local.mappings : key => "local-${var.name}-${key}"
  } : { for key, mapping in aws_lambda_event_source_mapping.stream : key => mapping.uuid }
}
