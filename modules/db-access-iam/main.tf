data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  secrets_manager = "secretsmanager.${data.aws_region.current.name}.amazonaws.com"
  secret_arns     = [var.app_secret_arn, var.admin_secret_arn]
  key_arns        = compact([var.app_kms_key_arn, var.admin_kms_key_arn])
  # RotateSecret runs the secret's rotation function as its caller: without
  # lambda:InvokeFunction on it the call is refused, whatever the caller's Secrets Manager
  # permissions (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html).
  # No MFA condition on it: the invocation is made by Secrets Manager on the caller's
  # behalf, and the RotateSecret that leads to it is already MFA-gated.
  invoke_rotators = length(var.rotator_function_arns) > 0 ? [var.rotator_function_arns] : []
  # What people look after: the first database's secrets and more_secrets. Operators get the
  # app secrets and their keys; break-glass and auditors get every secret and key.
  operated_secret_arns = distinct(concat([var.app_secret_arn], var.more_secrets.app_secret_arns))
  operated_key_arns    = distinct(compact(concat([var.app_kms_key_arn], var.more_secrets.app_kms_key_arns)))
  all_secret_arns      = distinct(concat(local.secret_arns, var.more_secrets.app_secret_arns, var.more_secrets.admin_secret_arns))
  all_key_arns         = distinct(concat(local.key_arns, var.more_secrets.app_kms_key_arns, var.more_secrets.admin_kms_key_arns))
}

# ------------------------------------------------------------------ managed policies

data "aws_iam_policy_document" "read_app_secret" {
  statement {
    sid       = "ReadAppSecret"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [var.app_secret_arn]
  }

  statement {
    sid       = "DecryptAppSecret"
    actions   = ["kms:Decrypt"]
    resources = [var.app_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.secrets_manager]
    }
  }
}

resource "aws_iam_policy" "read_app_secret" {
  name        = "${var.name}-read-app-secret"
  description = "Read the application database secret (and nothing else)"
  policy      = data.aws_iam_policy_document.read_app_secret.json
  tags        = var.tags
}

data "aws_iam_policy_document" "rotate_secret" {
  statement {
    sid = "RotateSecrets"
    actions = [
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetSecretValue",
      "secretsmanager:PutSecretValue",
      "secretsmanager:UpdateSecretVersionStage",
      "secretsmanager:RotateSecret",
      "secretsmanager:CancelRotateSecret",
    ]
    resources = local.secret_arns
  }

  statement {
    sid       = "UseSecretKeys"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = local.key_arns
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.secrets_manager]
    }
  }

  dynamic "statement" {
    for_each = local.invoke_rotators
    content {
      sid       = "InvokeRotatorsForRotateSecret"
      actions   = ["lambda:InvokeFunction"]
      resources = statement.value
    }
  }
}

resource "aws_iam_policy" "rotate_secret" {
  name        = "${var.name}-rotate-db-secrets"
  description = "Rotate the application and master database secrets"
  policy      = data.aws_iam_policy_document.rotate_secret.json
  tags        = var.tags
}

# ------------------------------------------------------------------ roles for applications

data "aws_iam_policy_document" "application_assume" {
  for_each = var.application_roles

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = [each.value.service]
    }
    # Confused deputy: the service may assume the role only for this account's resources.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "application" {
  for_each = var.application_roles

  name               = "${var.name}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.application_assume[each.key].json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "application" {
  for_each = var.application_roles

  role       = aws_iam_role.application[each.key].name
  policy_arn = each.value.access == "rotate" ? aws_iam_policy.rotate_secret.arn : aws_iam_policy.read_app_secret.arn
}

# ------------------------------------------------------------------ groups for people (MFA)

data "aws_iam_policy_document" "auditors" {
  statement {
    sid = "InspectSecretsWithoutValues"
    actions = [
      "secretsmanager:DescribeSecret",
      "secretsmanager:ListSecretVersionIds",
      "secretsmanager:GetResourcePolicy",
    ]
    resources = local.all_secret_arns
    condition {
      test     = "Bool"
      variable = "aws:MultiFactorAuthPresent"
      values   = ["true"]
    }
  }

  statement {
    sid       = "InspectKeys"
    actions   = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus"]
    resources = local.all_key_arns
    condition {
      test     = "Bool"
      variable = "aws:MultiFactorAuthPresent"
      values   = ["true"]
    }
  }

  # checked: ListSecrets and LookupEvents are account-wide list calls with no resource-level
  # permissions; IAM accepts only "*" for them.
  statement {
    sid       = "ListAndLookUp"
    actions   = ["secretsmanager:ListSecrets", "cloudtrail:LookupEvents"]
    resources = ["*"]
    condition {
      test     = "Bool"
      variable = "aws:MultiFactorAuthPresent"
      values   = ["true"]
    }
  }

  statement {
    sid       = "NeverReadValues"
    effect    = "Deny"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = local.all_secret_arns
  }
}

data "aws_iam_policy_document" "db_operators" {
  statement {
    sid = "OperateAppSecret"
    actions = [
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetSecretValue",
      "secretsmanager:RotateSecret",
      "secretsmanager:CancelRotateSecret",
    ]
    resources = local.operated_secret_arns
    condition {
      test     = "Bool"
      variable = "aws:MultiFactorAuthPresent"
      values   = ["true"]
    }
  }

  statement {
    sid       = "DecryptAppSecret"
    actions   = ["kms:Decrypt"]
    resources = local.operated_key_arns
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.secrets_manager]
    }
    condition {
      test     = "Bool"
      variable = "aws:MultiFactorAuthPresent"
      values   = ["true"]
    }
  }

  dynamic "statement" {
    for_each = local.invoke_rotators
    content {
      sid       = "InvokeRotatorsForRotateSecret"
      actions   = ["lambda:InvokeFunction"]
      resources = statement.value
    }
  }
}

data "aws_iam_policy_document" "break_glass" {
  statement {
    sid       = "ReadMasterSecret"
    actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:RotateSecret"]
    resources = local.all_secret_arns
    condition {
      test     = "Bool"
      variable = "aws:MultiFactorAuthPresent"
      values   = ["true"]
    }
    condition {
      test     = "NumericLessThan"
      variable = "aws:MultiFactorAuthAge"
      values   = [tostring(var.break_glass_max_mfa_age_seconds)]
    }
  }

  statement {
    sid       = "DecryptSecrets"
    actions   = ["kms:Decrypt"]
    resources = local.all_key_arns
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.secrets_manager]
    }
    condition {
      test     = "Bool"
      variable = "aws:MultiFactorAuthPresent"
      values   = ["true"]
    }
  }

  dynamic "statement" {
    for_each = local.invoke_rotators
    content {
      sid       = "InvokeRotatorsForRotateSecret"
      actions   = ["lambda:InvokeFunction"]
      resources = statement.value
    }
  }
}

locals {
  groups = var.create_groups ? {
    auditors     = data.aws_iam_policy_document.auditors.json
    db-operators = data.aws_iam_policy_document.db_operators.json
    break-glass  = data.aws_iam_policy_document.break_glass.json
  } : {}
}

resource "aws_iam_group" "this" {
  for_each = local.groups

  name = "${var.name}-${each.key}"
}

resource "aws_iam_policy" "group" {
  for_each = local.groups

  name        = "${var.name}-${each.key}"
  description = "Database secret access of the ${each.key} group (MFA required)"
  policy      = each.value
  tags        = var.tags

  lifecycle {
    # IAM refuses a managed policy over 6,144 characters, white space aside (LimitExceeded).
    # The groups name every secret and key they reach, about 500 characters a database.
    precondition {
      condition     = length(replace(each.value, "/\\s/", "")) <= 6144
      error_message = "The ${each.key} group's policy would have ${length(replace(each.value, "/\\s/", ""))} characters (white space aside): IAM refuses a managed policy over 6144. Split the databases across deployments (about 10 each) or pass fewer more_secrets."
    }
  }
}

resource "aws_iam_group_policy_attachment" "this" {
  for_each = local.groups

  group      = aws_iam_group.this[each.key].name
  policy_arn = aws_iam_policy.group[each.key].arn
}

# The people in the groups whose access the secrets' deny policy must except, one by one
# (a group is not a principal): Terraform owns these two groups' membership, so the users
# exempted there and the members here are the same list. A user's name is the last part
# of its ARN (user/<path>/<name>).
locals {
  group_members = var.create_groups ? {
    for k, v in { db-operators = var.db_operator_user_arns, break-glass = var.break_glass_user_arns } : k => v if length(v) > 0
  } : {}
}

resource "aws_iam_group_membership" "this" {
  # checkov:skip=CKV2_AWS_14:this resource is what puts users in the groups; checkov cannot read the user names computed from the ARNs
  # checkov:skip=CKV2_AWS_21:the users are existing ones, passed in by ARN; this resource makes them group members
  for_each = local.group_members

  name  = "${var.name}-${each.key}-members"
  group = aws_iam_group.this[each.key].name
  users = [for a in each.value : reverse(split("/", a))[0]]
}
