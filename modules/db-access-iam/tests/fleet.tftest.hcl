# People across a fleet: the groups' policies name every database's secrets and keys, in
# parts within IAM's managed-policy size, and a fleet too large for a group's ten policies
# fails the plan with a clear message instead of LimitExceeded halfway through an apply. The real provider renders the policy documents
# (locally, no AWS call); the two data sources that would call AWS are overridden.

provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "111111111111" }
}

override_data {
  target = data.aws_region.current
  values = { name = "eu-west-1" }
}

variables {
  name              = "rotaudit-test"
  app_secret_arn    = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/app-AbCdEf"
  admin_secret_arn  = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/admin-AbCdEf"
  app_kms_key_arn   = "arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-4000-8000-000000000001"
  admin_kms_key_arn = "arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-4000-8000-000000000002"
}

run "operators_reach_every_app_secret_and_no_master" {
  command = plan

  variables {
    more_secrets = {
      app_secret_arns    = ["arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/ledger/app-AbCdEf"]
      app_kms_key_arns   = ["arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-4000-8000-000000000003"]
      admin_secret_arns  = ["arn:aws:secretsmanager:eu-west-1:111111111111:secret:ledger/master-AbCdEf"]
      admin_kms_key_arns = []
    }
  }

  assert {
    condition = (
      strcontains(aws_iam_policy.group["db-operators"].policy, "rotaudit/test/ledger/app-AbCdEf") &&
      strcontains(aws_iam_policy.group["db-operators"].policy, "000000000003") &&
      !strcontains(aws_iam_policy.group["db-operators"].policy, "ledger/master") &&
      !strcontains(aws_iam_policy.group["db-operators"].policy, "rotaudit/test/admin")
    )
    error_message = "db-operators reach the further database's app secret and key, and no master"
  }
  assert {
    condition     = strcontains(aws_iam_policy.group["break-glass"].policy, "ledger/master-AbCdEf") && strcontains(aws_iam_policy.group["auditors"].policy, "ledger/master-AbCdEf")
    error_message = "break-glass and auditors reach the further database's master"
  }
  assert {
    condition     = !strcontains(aws_iam_policy.read_app_secret.policy, "ledger") && !strcontains(aws_iam_policy.rotate_secret.policy, "ledger")
    error_message = "the managed policies of the application roles keep to the first database"
  }
}

# Twenty more databases: 42 secrets and 42 keys. Each group's policy comes in parts, each
# within IAM's 6,144 characters, together naming every secret and key once.
run "a_fleet_in_parts" {
  command = plan

  variables {
    more_secrets = {
      app_secret_arns    = [for i in range(20) : "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/db${i}/app-AbCdEf"]
      app_kms_key_arns   = [for i in range(20) : format("arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-4000-8000-%012d", i + 10)]
      admin_secret_arns  = [for i in range(20) : "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/db${i}/admin-AbCdEf"]
      admin_kms_key_arns = [for i in range(20) : format("arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-4000-8000-%012d", i + 100)]
    }
  }

  assert {
    condition     = toset(keys(aws_iam_policy.group)) == toset(["auditors", "auditors-2", "auditors-3", "auditors-4", "break-glass", "break-glass-2", "break-glass-3", "break-glass-4", "db-operators", "db-operators-2"])
    error_message = "42 secrets in parts of 12 make four parts for auditors and break-glass; 21 app secrets two for db-operators"
  }
  assert {
    condition     = alltrue([for k, p in aws_iam_policy.group : length(replace(p.policy, "/\\s/", "")) <= 6144])
    error_message = "every part is within IAM's 6,144 characters"
  }
  assert {
    condition = alltrue([for i in range(20) : (
      length([for k, p in aws_iam_policy.group : k if startswith(k, "auditors") && strcontains(p.policy, "rotaudit/test/db${i}/admin-AbCdEf")]) == 1 &&
      length([for k, p in aws_iam_policy.group : k if startswith(k, "db-operators") && strcontains(p.policy, "rotaudit/test/db${i}/app-AbCdEf")]) == 1 &&
      length([for k, p in aws_iam_policy.group : k if startswith(k, "db-operators") && strcontains(p.policy, "rotaudit/test/db${i}/admin")]) == 0 &&
      length([for k, p in aws_iam_policy.group : k if startswith(k, "break-glass") && strcontains(p.policy, format("8000-%012d", i + 100))]) == 1
    )])
    error_message = "each secret and key is in exactly one part of each group that reaches it, and no master in db-operators'"
  }
  assert {
    condition     = length([for k, p in aws_iam_policy.group : k if strcontains(p.policy, "ListSecrets")]) == 1 && length([for k, p in aws_iam_policy.group : k if strcontains(p.policy, "lambda:InvokeFunction")]) == 0
    error_message = "the account-wide list calls are in the auditors' first part only (and no rotator is named here)"
  }
  assert {
    condition     = length(aws_iam_group_policy_attachment.this) == 10 && aws_iam_group_policy_attachment.this["auditors-4"].group == "rotaudit-test-auditors"
    error_message = "every part is attached to its group"
  }
}

# Seventy more: 142 secrets would take twelve parts, and a group takes ten managed policies.
run "a_fleet_over_a_groups_ten_policies_fails_the_plan" {
  command = plan

  variables {
    more_secrets = {
      app_secret_arns   = [for i in range(70) : "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/db${i}/app-AbCdEf"]
      admin_secret_arns = [for i in range(70) : "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/db${i}/admin-AbCdEf"]
    }
  }

  expect_failures = [aws_iam_policy.group]
}

run "more_secrets_takes_arns_only" {
  command = plan

  variables {
    more_secrets = { app_secret_arns = ["rotaudit/test/ledger/app"] }
  }

  expect_failures = [var.more_secrets]
}
