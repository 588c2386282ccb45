# Internal (modules/_internal/README.md): one rotator function (functions/rotator) for one
# strategy: its own permissions on the secrets it rotates, the masters it acts with and
# their keys, and the environment that is its contract with the Go code
# (internal/rotation.EnvVars; internal/tfcheck checks the keys and that the rotator loads
# the values). modules/_internal/lambda-function makes the function, role and log group;
# invoke permissions and the secrets' rotation stay with the caller.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  sm_service = "secretsmanager.${local.region}.amazonaws.com"
}

# The rotator's own permissions; modules/_internal/lambda-function adds logs, traces and
# the VPC interfaces. The statements' presence depends on the lists' lengths, which the
# callers know at plan time; the ARNs in them may not be known yet.
data "aws_iam_policy_document" "this" {
  statement {
    sid = "RotateSecrets"
    actions = [
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetSecretValue",
      "secretsmanager:PutSecretValue",
      "secretsmanager:UpdateSecretVersionStage",
    ]
    resources = var.rotated_secret_arns
  }

  # Alternating users: the masters' credentials change the other user's password.
  dynamic "statement" {
    for_each = length(var.master_secret_arns) > 0 ? [1] : []
    content {
      sid       = "ReadMasterSecret"
      actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
      resources = distinct(var.master_secret_arns)
    }
  }

  # The rotator completes an RDS-managed master secret from its instance or cluster, and
  # tells a read replica's user from the primary's (internal/rotation/rdsmaster.go). It
  # always names one instance or cluster, so the optional db and cluster resource types
  # of these List actions narrow it to this account and region; the identifiers come from
  # the secrets at run time, so no narrower ARN is known here.
  statement {
    sid       = "DescribeDatabases"
    actions   = ["rds:DescribeDBInstances", "rds:DescribeDBClusters"]
    resources = ["arn:${local.partition}:rds:${local.region}:${local.account_id}:db:*", "arn:${local.partition}:rds:${local.region}:${local.account_id}:cluster:*"]
  }

  dynamic "statement" {
    for_each = length(var.kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "UseSecretKeys"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = distinct(var.kms_key_arns)
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.sm_service]
      }
    }
  }
}

module "function" {
  source = "../lambda-function"

  name                 = var.name
  description          = var.description
  zip_path             = var.zip_path
  memory_mb            = var.memory_mb
  timeout_seconds      = var.timeout_seconds
  reserved_concurrency = var.reserved_concurrency
  subnet_ids           = var.subnet_ids
  security_group_ids   = var.security_group_ids
  policy_name          = "rotate-database-secrets"
  policy_json          = data.aws_iam_policy_document.this.json
  log_retention_days   = var.log_retention_days
  log_kms_key_arn      = var.log_kms_key_arn
  tags                 = var.tags

  # The keys are the rotator's contract (internal/rotation.EnvVars); a Go test checks them.
  environment = {
    SECRETS_MANAGER_ENDPOINT        = coalesce(var.secrets_manager_endpoint, "https://${local.sm_service}")
    EXCLUDE_CHARACTERS              = var.exclude_characters
    PASSWORD_LENGTH                 = tostring(var.password_length)
    EXCLUDE_NUMBERS                 = tostring(var.exclude_numbers)
    EXCLUDE_PUNCTUATION             = tostring(var.exclude_punctuation)
    EXCLUDE_UPPERCASE               = tostring(var.exclude_uppercase)
    EXCLUDE_LOWERCASE               = tostring(var.exclude_lowercase)
    REQUIRE_EACH_INCLUDED_TYPE      = tostring(var.require_each_included_type)
    ROTATION_STRATEGY               = var.strategy
    TEST_QUERY                      = var.test_query
    DB_CA_BUNDLE                    = var.db_ca_bundle
    DB_ALLOW_PLAINTEXT              = tostring(var.db_allow_plaintext)
    DB_ALLOW_INSECURE_PASSWORD_AUTH = tostring(var.db_allow_insecure_password_auth)
    ALLOW_PRIVILEGED_USERS          = tostring(var.allow_privileged_users)
    CLONE_MEMBER_OF_USER            = tostring(var.clone_member_of_user)
    # The masters the alternating rotator may act with: a masterarn outside them is refused.
    MASTER_SECRET_ARNS = var.strategy == "alternating-users" ? join(",", distinct(var.master_secret_arns)) : ""
  }
}
