# The database bootstrap: a one-shot function (functions/dbbootstrap, dist/dbbootstrap.zip)
# that logs in with the master secret, creates the schema, the NOLOGIN role holding the
# grants and the app login role, and writes the app secret's first password. It runs
# where the rotator runs (same subnets and security group), so it reaches PostgreSQL the
# same way.

# The bootstrap's own permissions; modules/_internal/lambda-function adds logs, traces and
# the VPC interfaces.
data "aws_iam_policy_document" "bootstrap" {
  count = var.create_bootstrap ? 1 : 0

  statement {
    sid       = "ReadSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = concat([local.secret_arns["admin"]], [for id in local.app_ids : local.secret_arns[id]])
  }

  # PutSecretValue writes the first password under the bootstrap's own staging label;
  # UpdateSecretVersionStage then moves AWSCURRENT to it (bootstrap.PutCurrent).
  statement {
    sid       = "SetFirstAppPassword"
    actions   = ["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"]
    resources = [for id in local.app_ids : local.secret_arns[id]]
  }

  # checked: GetRandomPassword acts on no resource; IAM accepts only "*" for it.
  statement {
    sid       = "GeneratePasswords"
    actions   = ["secretsmanager:GetRandomPassword"]
    resources = ["*"]
  }

  statement {
    sid       = "UseSecretKeys"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [for k in concat(local.app_ids, ["admin"]) : local.key_arns[k] if local.has_key[k]]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.sm_service]
    }
  }
}

module "bootstrap" {
  source = "../_internal/lambda-function"
  count  = var.create_bootstrap ? 1 : 0

  name               = local.bootstrap_name
  description        = length(local.more_apps) == 0 ? "Creates the schema, the grant role and ${var.app_username}, and sets the first password of ${var.secret_name_prefix}/app" : "Creates the schema, the grant role and ${length(local.app_ids)} app users, and sets the first passwords of their secrets"
  zip_path           = var.bootstrap_zip_path
  memory_mb          = var.lambda_memory_mb
  timeout_seconds    = var.bootstrap_timeout_seconds
  subnet_ids         = var.subnet_ids
  security_group_ids = var.security_group_ids
  policy_name        = "bootstrap-database"
  policy_json        = data.aws_iam_policy_document.bootstrap[0].json
  log_retention_days = var.log_retention_days
  log_kms_key_arn    = var.log_kms_key_arn
  tags               = var.tags

  # The bootstrap's contract (functions/dbbootstrap); optional values are set empty.
  environment = {
    MASTER_SECRET_ARN = local.admin_secret_arn
    APP_SECRET_ARNS   = join(",", [for id in local.app_ids : local.secret_arns[id]])
    # Every application's login role, the first user first (comma-separated).
    APP_USERNAME                    = join(",", concat([var.app_username], [for u in var.more_app_users : u.username]))
    DB_NAME                         = var.db_name
    DB_CA_BUNDLE                    = var.db_ca_bundle
    DB_ALLOW_PLAINTEXT              = tostring(var.db_allow_plaintext)
    DB_ALLOW_INSECURE_PASSWORD_AUTH = tostring(var.db_allow_insecure_password_auth)
    SECRETS_MANAGER_ENDPOINT        = local.sm_endpoint
  }
}

# Runs the bootstrap once, when it is created (and again when the code or the secrets it
# serves change): real AWS only, emulators cannot invoke Lambdas. Idempotent, so a re-run
# is harmless. The result names roles and secrets, never a password.
resource "aws_lambda_invocation" "bootstrap" {
  count = var.create_bootstrap && var.invoke_bootstrap ? 1 : 0

  function_name = module.bootstrap[0].function_name
  input         = jsonencode({})

  # A further user's secret runs it again; without one the triggers are a single user's.
  triggers = merge({
    code       = module.bootstrap[0].source_code_hash
    master     = local.admin_secret_arn
    app_secret = aws_secretsmanager_secret.app.arn
  }, length(local.more_apps) == 0 ? {} : { more_app_secrets = join(",", [for id, _ in local.more_apps : local.secret_arns[id]]) })

  depends_on = [aws_secretsmanager_secret_version.app, aws_secretsmanager_secret_version.more_app, aws_secretsmanager_secret_version.admin, aws_secretsmanager_secret_policy.app, aws_secretsmanager_secret_policy.more_app]
}
