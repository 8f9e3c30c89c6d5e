# State moves of this module's refactorings: `terraform plan` moves existing objects to their new
# addresses instead of destroying and re-creating them. Keep them while a state from before may
# still exist.

# The lake's resources were declared here before modules/private_bucket existed.
moved {
  from = aws_s3_bucket.lake
  to   = module.lake.aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_ownership_controls.lake
  to   = module.lake.aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_public_access_block.lake
  to   = module.lake.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.lake
  to   = module.lake.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_versioning.lake
  to   = module.lake.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.lake
  to   = module.lake.aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = aws_s3_bucket_policy.lake
  to   = module.lake.aws_s3_bucket_policy.this
}

# The two functions were two calls of ../function (module.changes, module.counts) before the
# for_each over local.functions.
moved {
  from = module.changes
  to   = module.function["changes"]
}

moved {
  from = module.counts
  to   = module.function["counts"]
}
