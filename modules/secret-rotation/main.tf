data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id    = data.aws_caller_identity.current.account_id
  function_name = "${var.name}-rotator"
  sm_endpoint   = coalesce(var.secrets_manager_endpoint, "https://secretsmanager.${data.aws_region.current.name}.amazonaws.com")
  secrets = {
    app   = aws_secretsmanager_secret.app
    admin = aws_secretsmanager_secret.admin
  }
}

# One customer-managed key per secret, so that reading the app secret never implies being
# able to decrypt the master secret.
data "aws_iam_policy_document" "key" {
  # checked: a key policy's resource is always "*" (it means this key).
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
    }
  }

  # checked: a key policy's resource is always "*" (it means this key).
  statement {
    sid       = "UseThroughSecretsManager"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:CallerAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  for_each = toset(["app", "admin"])

  description             = "${var.name}: encrypts the ${each.key} database secret"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  for_each = aws_kms_key.this

  name          = "alias/${var.name}-${each.key}-secret"
  target_key_id = each.value.key_id
}

resource "aws_secretsmanager_secret" "admin" {
  name                    = "${var.secret_name_prefix}/admin"
  description             = "Master PostgreSQL credentials (${var.admin_username}); the rotator uses them to change the app password."
  kms_key_id              = aws_kms_key.this["admin"].arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = var.tags
}

resource "aws_secretsmanager_secret" "app" {
  name                    = "${var.secret_name_prefix}/app"
  description             = "Application PostgreSQL credentials (${var.app_username}), read by the rates API at run time."
  kms_key_id              = aws_kms_key.this["app"].arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = var.tags
}

# Initial values in the shape of an RDS secret. Rotation owns the values afterwards, so
# Terraform writes them once and never reverts a rotated password.
resource "aws_secretsmanager_secret_version" "admin" {
  secret_id = aws_secretsmanager_secret.admin.id
  secret_string = jsonencode({
    engine   = "postgres"
    host     = var.db_host
    port     = var.db_port
    username = var.admin_username
    password = var.admin_initial_password
    dbname   = var.db_name
  })

  lifecycle {
    ignore_changes = [secret_string]
  }
}

# A placeholder password: the first rotation (immediately after rotation is enabled) sets
# the role's real password through the master credentials named by masterarn.
data "aws_secretsmanager_random_password" "app_initial" {
  password_length     = var.password_length
  exclude_characters  = var.exclude_characters
  exclude_numbers     = var.exclude_numbers
  exclude_punctuation = var.exclude_punctuation
  exclude_uppercase   = var.exclude_uppercase
  exclude_lowercase   = var.exclude_lowercase
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id = aws_secretsmanager_secret.app.id
  secret_string = jsonencode({
    engine    = "postgres"
    host      = var.db_host
    port      = var.db_port
    username  = var.app_username
    password  = data.aws_secretsmanager_random_password.app_initial.random_password
    dbname    = var.db_name
    masterarn = aws_secretsmanager_secret.admin.arn
  })

  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = local.function_name
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "rotator" {
  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid = "RotateSecrets"
    actions = [
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetSecretValue",
      "secretsmanager:PutSecretValue",
      "secretsmanager:UpdateSecretVersionStage",
    ]
    resources = [for s in local.secrets : s.arn]
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
    resources = [for k in aws_kms_key.this : k.arn]
  }

  # checked: ENI management for a VPC Lambda; Describe* supports no resource-level
  # permissions and Lambda creates the interfaces before their ids exist.
  statement {
    sid = "VpcNetworkInterfaces"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["*"]
  }

  # checked: X-Ray trace segments belong to no resource; "*" is the only valid value.
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "rotate-database-secrets"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.rotator.json
}

resource "aws_lambda_function" "this" {
  function_name    = local.function_name
  description      = "Rotates the PostgreSQL credentials in ${var.secret_name_prefix}/app and /admin"
  role             = aws_iam_role.this.arn
  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)
  handler          = "bootstrap"
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  memory_size      = var.lambda_memory_mb
  timeout          = var.lambda_timeout_seconds

  reserved_concurrent_executions = var.reserved_concurrency

  # The keys are the rotator's contract (internal/rotation.EnvVars); a Go test checks them.
  environment {
    variables = {
      SECRETS_MANAGER_ENDPOINT   = local.sm_endpoint
      EXCLUDE_CHARACTERS         = var.exclude_characters
      PASSWORD_LENGTH            = tostring(var.password_length)
      EXCLUDE_NUMBERS            = tostring(var.exclude_numbers)
      EXCLUDE_PUNCTUATION        = tostring(var.exclude_punctuation)
      EXCLUDE_UPPERCASE          = tostring(var.exclude_uppercase)
      EXCLUDE_LOWERCASE          = tostring(var.exclude_lowercase)
      REQUIRE_EACH_INCLUDED_TYPE = tostring(var.require_each_included_type)
      ROTATION_STRATEGY          = var.rotation_strategy
      TEST_QUERY                 = var.test_query
      DB_CA_BUNDLE               = var.db_ca_bundle
      DB_ALLOW_PLAINTEXT         = tostring(var.db_allow_plaintext)
      ALLOW_PRIVILEGED_USERS     = tostring(var.allow_privileged_users)
      CLONE_MEMBER_OF_USER       = tostring(var.clone_member_of_user)
    }
  }

  dynamic "vpc_config" {
    for_each = length(var.subnet_ids) > 0 ? [1] : []
    content {
      subnet_ids         = var.subnet_ids
      security_group_ids = var.security_group_ids
    }
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.this]
}

# Only Secrets Manager acting for this account may invoke the rotator (confused deputy).
resource "aws_lambda_permission" "secretsmanager" {
  statement_id   = "AllowSecretsManager"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this.function_name
  principal      = "secretsmanager.amazonaws.com"
  source_account = local.account_id
}

resource "aws_secretsmanager_secret_rotation" "app" {
  secret_id           = aws_secretsmanager_secret.app.id
  rotation_lambda_arn = aws_lambda_function.this.arn
  rotate_immediately  = var.rotate_app_immediately

  rotation_rules {
    automatically_after_days = var.rotation_schedule == null ? var.rotation_days : null
    schedule_expression      = var.rotation_schedule
    duration                 = var.rotation_window
  }

  depends_on = [aws_lambda_permission.secretsmanager, aws_secretsmanager_secret_version.app]
}

# The master rotates itself (single-user) on the same schedule.
resource "aws_secretsmanager_secret_rotation" "admin" {
  count = var.rotate_admin_secret ? 1 : 0

  secret_id           = aws_secretsmanager_secret.admin.id
  rotation_lambda_arn = aws_lambda_function.this.arn

  rotation_rules {
    automatically_after_days = var.rotation_schedule == null ? var.rotation_days : null
    schedule_expression      = var.rotation_schedule
    duration                 = var.rotation_window
  }

  depends_on = [aws_lambda_permission.secretsmanager, aws_secretsmanager_secret_version.admin]
}
