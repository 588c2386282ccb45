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
  # app secrets and their keys; break-glass and auditors get every secret and key. The lists
  # keep their known lengths (no distinct or compact over values unknown at plan), so the
  # groups' policy parts below are counted at plan; each part drops its duplicates and nulls.
  operated_secret_arns = concat([var.app_secret_arn], var.more_secrets.app_secret_arns)
  operated_key_arns    = concat([var.app_kms_key_arn], var.more_secrets.app_kms_key_arns)
  all_secret_arns      = concat(local.secret_arns, var.more_secrets.app_secret_arns, var.more_secrets.admin_secret_arns)
  all_key_arns         = concat([var.app_kms_key_arn, var.admin_kms_key_arn], var.more_secrets.app_kms_key_arns, var.more_secrets.admin_kms_key_arns)
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

# A group's policy names every secret and key the group reaches; a fleet's would pass IAM's
# 6,144 characters for a managed policy, so each group's policy comes in parts of at most
# secrets_per_part secrets and keys_per_part keys, all attached to the group (the first part
# keeps the single-database names and addresses). A group takes 10 managed policies, so
# about sixty databases.
locals {
  secrets_per_part = 12
  keys_per_part    = 16
  group_reach = {
    auditors     = { secrets = local.all_secret_arns, keys = local.all_key_arns }
    db-operators = { secrets = local.operated_secret_arns, keys = local.operated_key_arns }
    break-glass  = { secrets = local.all_secret_arns, keys = local.all_key_arns }
  }
  group_parts = var.create_groups ? merge([for g, r in local.group_reach : {
    for i in range(max(ceil(length(r.secrets) / local.secrets_per_part), ceil(length(r.keys) / local.keys_per_part))) :
    (i == 0 ? g : "${g}-${i + 1}") => {
      group   = g
      first   = i == 0
      secrets = slice(r.secrets, min(i * local.secrets_per_part, length(r.secrets)), min((i + 1) * local.secrets_per_part, length(r.secrets)))
      keys    = slice(r.keys, min(i * local.keys_per_part, length(r.keys)), min((i + 1) * local.keys_per_part, length(r.keys)))
    }
  }]...) : {}
}

data "aws_iam_policy_document" "auditors" {
  for_each = { for k, p in local.group_parts : k => p if p.group == "auditors" }

  dynamic "statement" {
    for_each = length(each.value.secrets) > 0 ? [1] : []
    content {
      sid = "InspectSecretsWithoutValues"
      actions = [
        "secretsmanager:DescribeSecret",
        "secretsmanager:ListSecretVersionIds",
        "secretsmanager:GetResourcePolicy",
      ]
      resources = distinct(each.value.secrets)
      condition {
        test     = "Bool"
        variable = "aws:MultiFactorAuthPresent"
        values   = ["true"]
      }
    }
  }

  dynamic "statement" {
    for_each = length(each.value.keys) > 0 ? [1] : []
    content {
      sid       = "InspectKeys"
      actions   = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus"]
      resources = distinct(compact(each.value.keys))
      condition {
        test     = "Bool"
        variable = "aws:MultiFactorAuthPresent"
        values   = ["true"]
      }
    }
  }

  # checked: ListSecrets and LookupEvents are account-wide list calls with no resource-level
  # permissions; IAM accepts only "*" for them.
  dynamic "statement" {
    for_each = each.value.first ? [1] : []
    content {
      sid       = "ListAndLookUp"
      actions   = ["secretsmanager:ListSecrets", "cloudtrail:LookupEvents"]
      resources = ["*"]
      condition {
        test     = "Bool"
        variable = "aws:MultiFactorAuthPresent"
        values   = ["true"]
      }
    }
  }

  dynamic "statement" {
    for_each = length(each.value.secrets) > 0 ? [1] : []
    content {
      sid       = "NeverReadValues"
      effect    = "Deny"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = distinct(each.value.secrets)
    }
  }
}

data "aws_iam_policy_document" "db_operators" {
  for_each = { for k, p in local.group_parts : k => p if p.group == "db-operators" }

  dynamic "statement" {
    for_each = length(each.value.secrets) > 0 ? [1] : []
    content {
      sid = "OperateAppSecret"
      actions = [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:RotateSecret",
        "secretsmanager:CancelRotateSecret",
      ]
      resources = distinct(each.value.secrets)
      condition {
        test     = "Bool"
        variable = "aws:MultiFactorAuthPresent"
        values   = ["true"]
      }
    }
  }

  dynamic "statement" {
    for_each = length(each.value.keys) > 0 ? [1] : []
    content {
      sid       = "DecryptAppSecret"
      actions   = ["kms:Decrypt"]
      resources = distinct(compact(each.value.keys))
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
  }

  dynamic "statement" {
    for_each = each.value.first ? local.invoke_rotators : []
    content {
      sid       = "InvokeRotatorsForRotateSecret"
      actions   = ["lambda:InvokeFunction"]
      resources = statement.value
    }
  }
}

data "aws_iam_policy_document" "break_glass" {
  for_each = { for k, p in local.group_parts : k => p if p.group == "break-glass" }

  dynamic "statement" {
    for_each = length(each.value.secrets) > 0 ? [1] : []
    content {
      sid       = "ReadMasterSecret"
      actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:RotateSecret"]
      resources = distinct(each.value.secrets)
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
  }

  dynamic "statement" {
    for_each = length(each.value.keys) > 0 ? [1] : []
    content {
      sid       = "DecryptSecrets"
      actions   = ["kms:Decrypt"]
      resources = distinct(compact(each.value.keys))
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
  }

  dynamic "statement" {
    for_each = each.value.first ? local.invoke_rotators : []
    content {
      sid       = "InvokeRotatorsForRotateSecret"
      actions   = ["lambda:InvokeFunction"]
      resources = statement.value
    }
  }
}

locals {
  group_policy_json = merge(
    { for k, d in data.aws_iam_policy_document.auditors : k => d.json },
    { for k, d in data.aws_iam_policy_document.db_operators : k => d.json },
    { for k, d in data.aws_iam_policy_document.break_glass : k => d.json },
  )
}

resource "aws_iam_group" "this" {
  for_each = var.create_groups ? local.group_reach : {}

  name = "${var.name}-${each.key}"
}

resource "aws_iam_policy" "group" {
  for_each = local.group_parts

  name        = "${var.name}-${each.key}"
  description = each.value.first ? "Database secret access of the ${each.value.group} group (MFA required)" : "Database secret access of the ${each.value.group} group, more of its secrets (MFA required)"
  policy      = local.group_policy_json[each.key]
  tags        = var.tags

  lifecycle {
    # IAM refuses a managed policy over 6,144 characters, white space aside (LimitExceeded),
    # and a group with more than 10 managed policies.
    precondition {
      condition     = length(replace(local.group_policy_json[each.key], "/\\s/", "")) <= 6144
      error_message = "The ${each.key} policy would have ${length(replace(local.group_policy_json[each.key], "/\\s/", ""))} characters (white space aside): IAM refuses a managed policy over 6144 (its ARNs are longer than the parts allow for: split the databases across deployments)."
    }
    precondition {
      condition     = length([for k, p in local.group_parts : k if p.group == each.value.group]) <= 10
      error_message = "The ${each.value.group} group would need ${length([for k, p in local.group_parts : k if p.group == each.value.group])} policies for its secrets, and IAM attaches at most 10 to a group: split the databases across deployments (about sixty each)."
    }
  }
}

resource "aws_iam_group_policy_attachment" "this" {
  for_each = local.group_parts

  group      = aws_iam_group.this[each.value.group].name
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
