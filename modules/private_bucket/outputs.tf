output "name" {
  description = "Name of the bucket (its id)."
  value       = aws_s3_bucket.this.id
}

output "arn" {
  description = "ARN of the bucket; objects are \"<arn>/<key>\"."
  value       = aws_s3_bucket.this.arn
}

output "regional_domain_name" {
  description = "Regional domain name of the bucket."
  value       = aws_s3_bucket.this.bucket_regional_domain_name
}
