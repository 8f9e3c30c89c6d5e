locals {
  # The bootstrap function's input (lambdas/bootstrap/README.md): names, never a secret value.
  event = {
    master_secret_arn      = var.master_secret_arn
    application_secret_arn = aws_secretsmanager_secret.application.arn
    host                   = var.database.host
    port                   = var.database.port
    database               = var.database.name
    tls                    = var.database.tls
    username               = var.application_username
    grants                 = var.grants
  }

  secret_key_arns = distinct(compact([var.master_secret_kms_key_arn, var.application_secret_kms_key_arn]))

  tags = merge({ "terraform-module" = "db_bootstrap" }, var.tags)
}

# Only its metadata is Terraform's: the bootstrap function writes every value, so no password
# is ever in a plan or in state.
resource "aws_secretsmanager_secret" "application" {
  #checkov:skip=CKV2_AWS_57:Each apply that changes the bootstrap sets a new password; a rotation Lambda would be a second writer of the same user.
  name_prefix             = "${var.name}-db-app-"
  description             = "MySQL credentials of ${var.application_username} (least privilege), written by the bootstrap function"
  kms_key_id              = var.application_secret_kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_in_days

  tags = local.tags
}

module "function" {
  source = "../function"

  function_name   = "${var.name}-db-bootstrap"
  description     = "Creates the schema and the application's MySQL user; invoked by Terraform"
  zip_path        = var.zip_path
  handler         = "bootstrap.app.lambda_handler"
  architecture    = var.architecture
  timeout_seconds = 60
  memory_size     = 256
  tracing_mode    = "PassThrough"

  environment_variables = var.environment_variables

  policy_statements = merge(
    {
      ReadMasterSecret = {
        actions   = ["secretsmanager:GetSecretValue"]
        resources = [var.master_secret_arn]
      }
      WriteApplicationSecret = {
        actions   = ["secretsmanager:PutSecretValue"]
        resources = [aws_secretsmanager_secret.application.arn]
      }
    },
    length(local.secret_key_arns) == 0 ? {} : {
      UseSecretKeys = {
        actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
        resources = local.secret_key_arns
      }
    },
  )

  vpc_config = var.vpc_config

  manage_logging_config = var.manage_logging_config
  log_retention_in_days = var.log_retention_in_days
  logs_kms_key_arn      = var.logs_kms_key_arn

  tags = var.tags
}

# Runs the version this apply published (not the alias, which a release command owns), again
# whenever that version or the input changes; an unchanged stack plans no invocation.
resource "aws_lambda_invocation" "this" {
  count = var.invoke ? 1 : 0

  function_name = module.function.function_name
  qualifier     = module.function.version
  input         = jsonencode(local.event)
}
