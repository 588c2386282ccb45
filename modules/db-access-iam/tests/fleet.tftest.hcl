# People across a fleet: the groups' policies name every database's secrets and keys, and a
# fleet too large for IAM's managed-policy limit fails the plan with a clear message instead
# of LimitExceeded halfway through an apply. The real provider renders the policy documents
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

run "a_fleet_over_the_policy_limit_fails_the_plan" {
  command = plan

  variables {
    more_secrets = {
      app_secret_arns    = [for i in range(20) : "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/db${i}/app-AbCdEf"]
      app_kms_key_arns   = [for i in range(20) : format("arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-4000-8000-%012d", i + 10)]
      admin_secret_arns  = [for i in range(20) : "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/db${i}/admin-AbCdEf"]
      admin_kms_key_arns = [for i in range(20) : format("arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-4000-8000-%012d", i + 100)]
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
