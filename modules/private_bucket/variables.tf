################################################################################
# Naming
################################################################################

variable "name" {
  description = "Name of the bucket. Set this or name_prefix, not both."
  type        = string
  default     = null

  validation {
    condition     = var.name == null ? true : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name))
    error_message = "name must be 3-63 lower-case letters, digits, '.' or '-', starting and ending with a letter or digit."
  }
}

variable "name_prefix" {
  description = "Prefix of the bucket's name; S3 names it <prefix><26 characters> (e.g. \"registrations-lake-\"). Set this or name, not both."
  type        = string
  default     = null

  validation {
    condition     = var.name_prefix == null ? true : can(regex("^[a-z0-9][a-z0-9.-]{0,36}$", var.name_prefix))
    error_message = "name_prefix must be 1-37 lower-case letters, digits, '.' or '-', starting with a letter or digit (the provider's limit for a bucket prefix)."
  }
}

################################################################################
# Bucket
################################################################################

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with its objects (every version). Keep false where the objects are data."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "Customer managed KMS key: SSE-KMS with a bucket key. null uses SSE-S3 (AES256). Readers and writers then need kms:Decrypt / kms:GenerateDataKey on it (the caller's roles)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "lifecycle_rules" {
  description = <<-EOT
    Lifecycle rules, in order. Each: `id`; `enabled` (default true); `prefix` (null: the whole
    bucket); and at least one action in days: `expiration_days` (current objects),
    `noncurrent_version_expiration_days` (replaced or deleted versions),
    `abort_incomplete_multipart_upload_days`. One enabled rule for the whole bucket must abort
    incomplete uploads (their parts are billed and never visible). The default does only that,
    after a day.
  EOT
  type = list(object({
    id                                     = string
    enabled                                = optional(bool, true)
    prefix                                 = optional(string)
    expiration_days                        = optional(number)
    noncurrent_version_expiration_days     = optional(number)
    abort_incomplete_multipart_upload_days = optional(number)
  }))
  default = [{
    id                                     = "abort-incomplete-uploads"
    abort_incomplete_multipart_upload_days = 1
  }]

  validation {
    condition     = length(var.lifecycle_rules) >= 1 && length(var.lifecycle_rules) <= 1000
    error_message = "lifecycle_rules must hold 1-1000 rules (S3 refuses an empty lifecycle configuration)."
  }

  validation {
    condition     = length(distinct([for rule in var.lifecycle_rules : rule.id])) == length(var.lifecycle_rules)
    error_message = "Each lifecycle rule needs an id of its own."
  }

  validation {
    condition = alltrue([
      for rule in var.lifecycle_rules : can(regex("^.{1,255}$", rule.id))
    ])
    error_message = "A lifecycle rule id is 1-255 characters."
  }

  validation {
    condition = alltrue([
      for rule in var.lifecycle_rules : anytrue([
        rule.expiration_days != null,
        rule.noncurrent_version_expiration_days != null,
        rule.abort_incomplete_multipart_upload_days != null,
      ])
    ])
    error_message = "Each lifecycle rule needs at least one of expiration_days, noncurrent_version_expiration_days, abort_incomplete_multipart_upload_days."
  }

  validation {
    condition = anytrue([
      for rule in var.lifecycle_rules :
      rule.enabled && rule.prefix == null && rule.abort_incomplete_multipart_upload_days != null
    ])
    error_message = "One enabled lifecycle rule with no prefix must set abort_incomplete_multipart_upload_days (parts of an upload never completed are billed forever)."
  }

  validation {
    condition = alltrue(flatten([
      for rule in var.lifecycle_rules : [
        for days in [rule.expiration_days, rule.noncurrent_version_expiration_days, rule.abort_incomplete_multipart_upload_days] :
        days == null ? true : days >= 1 && floor(days) == days
      ]
    ]))
    error_message = "Lifecycle days must be whole numbers >= 1."
  }
}

################################################################################
# Bucket policy
################################################################################

variable "tls_only_policy" {
  description = "Deny every request that does not use TLS (aws:SecureTransport false). false only against an emulated endpoint that speaks plain HTTP and enforces bucket-policy denies (moto)."
  type        = bool
  default     = true
}

variable "policy_documents" {
  description = "Further IAM policy documents (JSON) merged into the bucket policy, e.g. from aws_iam_policy_document. Statement ids must be unique across them and must not be DenyInsecureTransport."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags of the bucket."
  type        = map(string)
  default     = {}
}
