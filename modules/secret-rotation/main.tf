data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

# The principal running Terraform: exempted from the secrets' deny policy, because the
# provider reads every secret version it manages (GetSecretValue) on each plan, and
# destroying needs it too. An assumed-role session resolves to its role (issuer_arn).
data "aws_iam_session_context" "current" {
  count = var.create_secret_policy ? 1 : 0

  arn = data.aws_caller_identity.current.arn
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  sm_service = "secretsmanager.${local.region}.amazonaws.com"
  # The endpoint the bootstrap calls (SECRETS_MANAGER_ENDPOINT); modules/_internal/rotator
  # works out the rotators' the same way from var.secrets_manager_endpoint.
  sm_endpoint = coalesce(var.secrets_manager_endpoint, "https://${local.sm_service}")

  admin_secret_arn = var.create_admin_secret ? aws_secretsmanager_secret.admin[0].arn : var.admin_secret_arn
  # Further applications' secrets, keyed app-<username> (their name's last part): known at
  # plan time, and the first user's keys stay app.
  more_apps = { for u in var.more_app_users : "app-${u.username}" => u }
  # A further user's own schedule, else its own rotation_days, else the module's schedule.
  more_app_schedule = { for id, u in local.more_apps : id => u.rotation_schedule != null ? u.rotation_schedule : (u.rotation_days != null ? null : var.rotation_schedule) }
  secret_arns = merge({
    app   = aws_secretsmanager_secret.app.arn
    admin = local.admin_secret_arn
  }, { for id, _ in local.more_apps : id => aws_secretsmanager_secret.more_app[id].arn })
  # Every app secret, the first one first (the bootstrap's APP_SECRET_ARNS order).
  app_ids = concat(["app"], keys(local.more_apps))
  # Keys by secret; an existing admin secret may use the AWS managed key (null), on which
  # Secrets Manager's own key policy already lets the account decrypt.
  key_arns = merge({
    app   = module.key["app"].arn
    admin = var.create_admin_secret ? module.key["admin"].arn : var.admin_kms_key_arn
  }, { for id, _ in local.more_apps : id => module.key[id].arn })
  has_key = merge({
    app   = true
    admin = var.create_admin_secret || var.admin_kms_key_arn != null
  }, { for id, _ in local.more_apps : id => true })

  # Which strategy rotates which secret. The master is always rotated single-user: it is
  # its own master. Keys and values come from variables, so they are known at plan time.
  rotations = merge(
    { app = var.app_rotation_strategy },
    { for id, u in local.more_apps : id => u.strategy },
    var.rotate_admin_secret ? { admin = "single-user" } : {},
  )
  # One rotator function per strategy in use (the rotator reads one ROTATION_STRATEGY).
  strategies = toset(values(local.rotations))
  # Secrets each rotator changes, and those it only reads (the master, for alternating users).
  rotator_writes = { for s in local.strategies : s => sort([for k, v in local.rotations : k if v == s]) }
  rotator_reads  = { for s in local.strategies : s => s == "alternating-users" ? ["admin"] : [] }
  rotator_keys = {
    for s in local.strategies : s => [for k in distinct(concat(local.rotator_writes[s], local.rotator_reads[s])) : k if local.has_key[k]]
  }

  # This module makes the rotators and their rotation unless the caller does (create_rotation).
  own_strategies = var.create_rotation ? local.strategies : toset([])
  own_rotations  = var.create_rotation ? local.rotations : {}
  function_names = { for s in local.strategies : s => "${var.name}-rotator-${s}" }
  bootstrap_name = "${var.name}-db-bootstrap"
}

# ------------------------------------------------------------------ keys and secrets

# One customer-managed key per secret, so that reading the app secret never implies being
# able to decrypt the master secret. The account administers both (modules/_internal/kms-key);
# the account's principals may use them only through Secrets Manager.
#
# The account's kms:* (AccountAdministers) lets any IAM policy grant kms:Decrypt on these
# keys, with or without kms:ViaService; the deny below is what makes "only through Secrets
# Manager" true for everyone. Checked: no principal of this project decrypts these keys
# directly. The rotators, the bootstrap, the API task, the operators and the ECS database's
# execution role (secret injection) all read the values with GetSecretValue, and Secrets
# Manager makes the KMS calls for them, with kms:ViaService set; no Go code has a KMS
# client. Key administration (DescribeKey, GetKeyPolicy, ScheduleKeyDeletion, ...) is not
# denied.
data "aws_iam_policy_document" "key" {
  # checked: a key policy's resource is always "*" (it means this key).
  statement {
    sid       = "UseThroughSecretsManager"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.sm_service]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:CallerAccount"
      values   = [local.account_id]
    }
  }

  # checked: a key policy's resource is always "*" (it means this key).
  statement {
    sid       = "OnlyThroughSecretsManager"
    effect    = "Deny"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "kms:ViaService"
      values   = [local.sm_service]
    }
  }
}

module "key" {
  source   = "../_internal/kms-key"
  for_each = toset(concat(var.create_admin_secret ? ["app", "admin"] : ["app"], keys(local.more_apps)))

  description          = "${var.name}: encrypts the ${each.key} database secret"
  alias                = "${var.name}-${each.key}-secret"
  deletion_window_days = var.kms_deletion_window_days
  policy_json          = data.aws_iam_policy_document.key.json
  tags                 = var.tags
}

resource "aws_secretsmanager_secret" "admin" {
  count = var.create_admin_secret ? 1 : 0

  name                    = "${var.secret_name_prefix}/admin"
  description             = "Master PostgreSQL credentials (${var.admin_username}); rotated single-user, and the master of the app secret's alternating users."
  kms_key_id              = module.key["admin"].arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = merge(var.tags, local.fleet_tags["admin"])
}

resource "aws_secretsmanager_secret" "app" {
  name                    = "${var.secret_name_prefix}/app"
  description             = "Application PostgreSQL credentials (${var.app_username}), read by the rates API at run time."
  kms_key_id              = module.key["app"].arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = merge(var.tags, local.fleet_tags["app"])
}

# A further application's secret, as the app secret (its key, first value, deny policy).
resource "aws_secretsmanager_secret" "more_app" {
  for_each = local.more_apps

  name                    = "${var.secret_name_prefix}/${each.key}"
  description             = "Application PostgreSQL credentials (${each.value.username}), rotated ${each.value.strategy}."
  kms_key_id              = module.key[each.key].arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = merge(var.tags, local.fleet_tags[each.key])
}

resource "aws_secretsmanager_secret_version" "more_app" {
  for_each = local.more_apps

  secret_id = aws_secretsmanager_secret.more_app[each.key].id
  secret_string = jsonencode({
    engine    = "postgres"
    host      = var.db_host
    port      = var.db_port
    username  = each.value.username
    dbname    = var.db_name
    ssl       = var.db_ssl
    masterarn = local.admin_secret_arn
  })

  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_secretsmanager_secret_policy" "more_app" {
  for_each = var.create_secret_policy ? local.more_apps : {}

  secret_arn          = aws_secretsmanager_secret.more_app[each.key].arn
  policy              = data.aws_iam_policy_document.secret[each.key].json
  block_public_policy = true
}

# What `rotaudit fleet` shows of a secret without reading its value (internal/fleet's
# TagDatabase, TagUsername, TagStrategy): names and a strategy, never a password.
locals {
  fleet_database = "${var.db_host}:${var.db_port}/${var.db_name}"
  fleet_tags = merge({ for id, u in local.more_apps : id => {
    "rotaudit:database" = local.fleet_database
    "rotaudit:username" = u.username
    "rotaudit:strategy" = u.strategy
    } }, {
    app = {
      "rotaudit:database" = local.fleet_database
      "rotaudit:username" = var.app_username
      "rotaudit:strategy" = var.app_rotation_strategy
    }
    admin = merge(
      {
        "rotaudit:database" = local.fleet_database
        "rotaudit:username" = var.admin_username
      },
      var.rotate_admin_secret ? { "rotaudit:strategy" = "single-user" } : {},
    )
  })
}

# The master's first value, written write-only: the password (an ephemeral value, the same
# one the database was created with) never reaches the plan or the state. Rotation owns
# the value afterwards; bumping admin_password_wo_version writes it again.
resource "aws_secretsmanager_secret_version" "admin" {
  count = var.create_admin_secret ? 1 : 0

  secret_id = aws_secretsmanager_secret.admin[0].id
  secret_string_wo = jsonencode({
    engine   = "postgres"
    host     = var.db_host
    port     = var.db_port
    username = var.admin_username
    password = var.admin_password_wo
    dbname   = var.db_name
    ssl      = var.db_ssl
  })
  secret_string_wo_version = var.admin_password_wo_version

  lifecycle {
    precondition {
      condition     = var.admin_password_wo_version >= 1
      error_message = "admin_password_wo_version must be at least 1."
    }
  }
}

# The app secret's first value has everything but a password: the bootstrap function
# creates the login role and writes its first password as a new AWSCURRENT version, and
# rotation changes it from then on. Terraform never writes or reverts it again.
resource "aws_secretsmanager_secret_version" "app" {
  secret_id = aws_secretsmanager_secret.app.id
  secret_string = jsonencode({
    engine    = "postgres"
    host      = var.db_host
    port      = var.db_port
    username  = var.app_username
    dbname    = var.db_name
    ssl       = var.db_ssl
    masterarn = local.admin_secret_arn
  })

  lifecycle {
    ignore_changes = [secret_string]

    precondition {
      condition     = var.create_admin_secret || var.admin_secret_arn != null
      error_message = "create_admin_secret = false needs admin_secret_arn (the existing master secret)."
    }
  }
}

# Access control, not only detection: nobody but the listed principals may read a value,
# whatever their IAM policies say. Only GetSecretValue is denied, so the deploying
# principal keeps managing (and destroying) the secret and its policy.
data "aws_iam_policy_document" "secret" {
  for_each = var.create_secret_policy ? local.secret_readers : {}

  # checked: in a secret's resource policy the resource "*" is the secret the policy is on.
  statement {
    sid       = "OnlyNamedPrincipalsReadTheValue"
    effect    = "Deny"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalArn"
      values   = each.value
    }
  }
}

locals {
  deployer_principals = concat(var.deployer_arns, [for c in data.aws_iam_session_context.current : c.issuer_arn])
  module_principals   = concat([for f in module.rotator : f.role_arn], var.rotator_role_arns, module.bootstrap[*].role_arn)
  # People: IAM users get their permissions from groups, but a group is never a
  # principal, so the deny must name each user (aws:PrincipalArn is the user's ARN).
  break_glass_principals = concat(var.break_glass_role_arns, var.break_glass_user_arns)
  # Principals exempted from the deny, by secret (only secrets this module creates).
  secret_readers = merge(
    {
      app = distinct(concat(var.app_reader_arns, var.operator_user_arns, var.secret_rotator_arns, local.break_glass_principals, local.module_principals, local.deployer_principals))
    },
    # Further applications' secrets: their own readers, not app_reader_arns (the API reads
    # the app secret alone).
    { for id, u in local.more_apps : id => distinct(concat(u.reader_arns, var.operator_user_arns, var.secret_rotator_arns, local.break_glass_principals, local.module_principals, local.deployer_principals)) },
    var.create_admin_secret ? {
      admin = distinct(concat(var.admin_reader_arns, var.secret_rotator_arns, local.break_glass_principals, local.module_principals, local.deployer_principals))
    } : {},
  )
}

# The principal running Terraform is excepted only while it is the one running it: the next
# plan by anyone else (a second operator, CI) refreshes the secret versions with
# GetSecretValue and fails with AccessDeniedException ("explicit deny in a resource-based
# policy") until that principal is in deployer_arns. Said on every plan, not at the failure.
check "deployer_is_listed" {
  assert {
    condition     = !var.create_secret_policy || alltrue([for c in data.aws_iam_session_context.current : contains(var.deployer_arns, c.issuer_arn)])
    error_message = "The principal running Terraform (${join(", ", [for c in data.aws_iam_session_context.current : c.issuer_arn])}) is not in deployer_arns. It is excepted from the secrets' deny policy only for this run: any other operator or CI role (and this one, once another has applied) is denied GetSecretValue during plan until it is added. List every principal that runs Terraform here in deployer_arns."
  }
}

resource "aws_secretsmanager_secret_policy" "app" {
  count = var.create_secret_policy ? 1 : 0

  secret_arn          = aws_secretsmanager_secret.app.arn
  policy              = data.aws_iam_policy_document.secret["app"].json
  block_public_policy = true
}

resource "aws_secretsmanager_secret_policy" "admin" {
  count = var.create_secret_policy && var.create_admin_secret ? 1 : 0

  secret_arn          = aws_secretsmanager_secret.admin[0].arn
  policy              = data.aws_iam_policy_document.secret["admin"].json
  block_public_policy = true
}

# ------------------------------------------------------------------ rotators

# One rotator per strategy in use: its policy names the secrets it rotates, the master it
# reads and their keys (modules/_internal/rotator).
module "rotator" {
  source   = "../_internal/rotator"
  for_each = local.own_strategies

  name                 = local.function_names[each.key]
  description          = "Rotates ${join(" and ", [for k in local.rotator_writes[each.key] : "${var.secret_name_prefix}/${k}"])} (${each.key})"
  strategy             = each.key
  rotated_secret_arns  = [for k in local.rotator_writes[each.key] : local.secret_arns[k]]
  master_secret_arns   = [for k in local.rotator_reads[each.key] : local.secret_arns[k]]
  kms_key_arns         = [for k in local.rotator_keys[each.key] : local.key_arns[k]]
  zip_path             = var.lambda_zip_path
  memory_mb            = var.lambda_memory_mb
  timeout_seconds      = var.lambda_timeout_seconds
  reserved_concurrency = var.reserved_concurrency
  subnet_ids           = var.subnet_ids
  security_group_ids   = var.security_group_ids
  log_retention_days   = var.log_retention_days
  log_kms_key_arn      = var.log_kms_key_arn
  tags                 = var.tags

  secrets_manager_endpoint        = var.secrets_manager_endpoint
  exclude_characters              = var.exclude_characters
  password_length                 = var.password_length
  exclude_numbers                 = var.exclude_numbers
  exclude_punctuation             = var.exclude_punctuation
  exclude_uppercase               = var.exclude_uppercase
  exclude_lowercase               = var.exclude_lowercase
  require_each_included_type      = var.require_each_included_type
  test_query                      = var.test_query
  db_ca_bundle                    = var.db_ca_bundle
  db_allow_plaintext              = var.db_allow_plaintext
  db_allow_insecure_password_auth = var.db_allow_insecure_password_auth
  allow_privileged_users          = var.allow_privileged_users
  clone_member_of_user            = var.clone_member_of_user
}

# Only Secrets Manager, for this account and the one secret, may invoke a rotator
# (confused deputy): one permission per rotated secret.
resource "aws_lambda_permission" "rotator" {
  for_each = local.own_rotations

  statement_id   = "AllowSecretsManager-${each.key}"
  action         = "lambda:InvokeFunction"
  function_name  = module.rotator[each.value].function_name
  principal      = "secretsmanager.amazonaws.com"
  source_account = local.account_id
  source_arn     = local.secret_arns[each.key]
}

# The app secret: alternating users by default (its masterarn names the admin secret), or
# single-user, as app_rotation_strategy says.
#
# Configuring rotation is not inert: with rotate_immediately = false Secrets Manager still
# tests the configuration by running the function's testSecret step (it creates an
# AWSPENDING version and removes it;
# https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html,
# RotateImmediately). Until the bootstrap has written the app secret's first password
# that test fails and the secret starts life with RotationFailed, so rotation is
# configured only after the bootstrap's invocation (a Go test in internal/tfcheck keeps
# this order).
resource "aws_secretsmanager_secret_rotation" "app" {
  # checkov:skip=CKV_AWS_304:the value is conditional (rotation_days or a schedule), which checkov cannot evaluate; rotation_days' validation caps it at 90
  count = var.create_rotation ? 1 : 0

  secret_id           = aws_secretsmanager_secret.app.id
  rotation_lambda_arn = module.rotator[var.app_rotation_strategy].arn
  rotate_immediately  = false

  rotation_rules {
    automatically_after_days = var.rotation_schedule == null ? var.rotation_days : null
    schedule_expression      = var.rotation_schedule
    duration                 = var.rotation_window
  }

  depends_on = [aws_lambda_permission.rotator, aws_secretsmanager_secret_version.app, aws_lambda_invocation.bootstrap]
}

# Each further application's secret, with its own strategy, on its own schedule (else the
# module's: a schedule of its own wins over rotation_days, as for the app secret).
resource "aws_secretsmanager_secret_rotation" "more_app" {
  # checkov:skip=CKV_AWS_304:the value is conditional (rotation_days or a schedule), which checkov cannot evaluate; rotation_days' validation caps it at 90
  for_each = var.create_rotation ? local.more_apps : {}

  secret_id           = aws_secretsmanager_secret.more_app[each.key].id
  rotation_lambda_arn = module.rotator[local.rotations[each.key]].arn
  rotate_immediately  = false

  rotation_rules {
    automatically_after_days = local.more_app_schedule[each.key] == null ? coalesce(each.value.rotation_days, var.rotation_days) : null
    schedule_expression      = local.more_app_schedule[each.key]
    duration                 = var.rotation_window
  }

  depends_on = [aws_lambda_permission.rotator, aws_secretsmanager_secret_version.more_app, aws_lambda_invocation.bootstrap]
}

# The master rotates itself, always single-user: it has no master of its own.
resource "aws_secretsmanager_secret_rotation" "admin" {
  # checkov:skip=CKV_AWS_304:the value is conditional (rotation_days or a schedule), which checkov cannot evaluate; rotation_days' validation caps it at 90
  count = var.create_rotation && var.rotate_admin_secret ? 1 : 0

  secret_id           = var.create_admin_secret ? aws_secretsmanager_secret.admin[0].id : var.admin_secret_arn
  rotation_lambda_arn = module.rotator["single-user"].arn
  rotate_immediately  = false

  rotation_rules {
    automatically_after_days = var.rotation_schedule == null ? var.rotation_days : null
    schedule_expression      = var.rotation_schedule
    duration                 = var.rotation_window
  }

  depends_on = [aws_lambda_permission.rotator, aws_secretsmanager_secret_version.admin]
}
