# The database bootstrap: a one-shot function (functions/dbbootstrap, dist/dbbootstrap.zip)
# that logs in with the master secret, creates the schema, the NOLOGIN role holding the
# grants and the app login role, and writes the app secret's first password. It runs
# where the rotator runs (same subnets and security group), so it reaches PostgreSQL the
# same way.

resource "aws_cloudwatch_log_group" "bootstrap" {
  count = var.create_bootstrap ? 1 : 0

  name              = "/aws/lambda/${local.bootstrap_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_iam_role" "bootstrap" {
  count = var.create_bootstrap ? 1 : 0

  name               = local.bootstrap_name
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "bootstrap" {
  count = var.create_bootstrap ? 1 : 0

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.bootstrap[0].arn}:*"]
  }

  statement {
    sid       = "ReadSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [local.secret_arns["admin"], local.secret_arns["app"]]
  }

  statement {
    sid       = "SetFirstAppPassword"
    actions   = ["secretsmanager:PutSecretValue"]
    resources = [local.secret_arns["app"]]
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
    resources = [for k in ["app", "admin"] : local.key_arns[k] if local.has_key[k]]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.sm_service]
    }
  }

  dynamic "statement" {
    for_each = local.in_vpc ? [1] : []
    content {
      sid     = "CreateInterfacesInOwnSubnets"
      actions = ["ec2:CreateNetworkInterface"]
      resources = concat(
        ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"],
        local.subnet_arns,
        local.security_group_arns,
      )
    }
  }

  dynamic "statement" {
    for_each = local.in_vpc ? [1] : []
    content {
      sid       = "ManageOwnInterfaces"
      actions   = ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
      resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"]
      condition {
        test     = "ArnEquals"
        variable = "ec2:Subnet"
        values   = local.subnet_arns
      }
    }
  }

  # checked: ec2:Describe* supports no resource-level permissions; "*" is the only value.
  dynamic "statement" {
    for_each = local.in_vpc ? [1] : []
    content {
      sid       = "DescribeInterfaces"
      actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
      resources = ["*"]
    }
  }

  # checked: X-Ray trace segments belong to no resource; "*" is the only valid value.
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "bootstrap" {
  count = var.create_bootstrap ? 1 : 0

  name   = "bootstrap-database"
  role   = aws_iam_role.bootstrap[0].id
  policy = data.aws_iam_policy_document.bootstrap[0].json
}

resource "aws_lambda_function" "bootstrap" {
  count = var.create_bootstrap ? 1 : 0

  function_name    = local.bootstrap_name
  description      = "Creates the schema, the grant role and ${var.app_username}, and sets the first password of ${var.secret_name_prefix}/app"
  role             = aws_iam_role.bootstrap[0].arn
  filename         = var.bootstrap_zip_path
  source_code_hash = var.bootstrap_zip_path == null ? null : filebase64sha256(var.bootstrap_zip_path)
  handler          = "bootstrap"
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  memory_size      = var.lambda_memory_mb
  timeout          = var.bootstrap_timeout_seconds

  # The bootstrap's contract (functions/dbbootstrap); optional values are set empty.
  environment {
    variables = {
      MASTER_SECRET_ARN        = local.admin_secret_arn
      APP_SECRET_ARNS          = aws_secretsmanager_secret.app.arn
      APP_USERNAME             = var.app_username
      DB_NAME                  = var.db_name
      DB_CA_BUNDLE             = var.db_ca_bundle
      DB_ALLOW_PLAINTEXT       = tostring(var.db_allow_plaintext)
      SECRETS_MANAGER_ENDPOINT = local.sm_endpoint
    }
  }

  dynamic "vpc_config" {
    for_each = local.in_vpc ? [1] : []
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
    log_group  = aws_cloudwatch_log_group.bootstrap[0].name
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.bootstrap]

  lifecycle {
    precondition {
      condition     = var.bootstrap_zip_path != null
      error_message = "create_bootstrap needs bootstrap_zip_path (dist/dbbootstrap.zip from make package)."
    }
  }
}

# Runs the bootstrap once, when it is created (and again when the code or the secrets it
# serves change): real AWS only, emulators cannot invoke Lambdas. Idempotent, so a re-run
# is harmless. The result names roles and secrets, never a password.
resource "aws_lambda_invocation" "bootstrap" {
  count = var.create_bootstrap && var.invoke_bootstrap ? 1 : 0

  function_name = aws_lambda_function.bootstrap[0].function_name
  input         = jsonencode({})

  triggers = {
    code       = aws_lambda_function.bootstrap[0].source_code_hash
    master     = local.admin_secret_arn
    app_secret = aws_secretsmanager_secret.app.arn
  }

  depends_on = [aws_secretsmanager_secret_version.app, aws_secretsmanager_secret_version.admin, aws_secretsmanager_secret_policy.app]
}
