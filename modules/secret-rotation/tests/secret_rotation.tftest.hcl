# Plan-only tests with mocked providers: need Terraform 1.7+ (mock_provider) and the
# provider schema from `terraform init`, so they run where the provider can be
# downloaded: cd into the module and run `terraform init && terraform test`.

mock_provider "aws" {
  source = "../_internal/testing/aws"
}

variables {
  name                  = "rotaudit-test"
  secret_name_prefix    = "rotaudit/test"
  db_host               = "db.example.internal"
  admin_password_wo     = "0123456789abcdef0123"
  lambda_zip_path       = "tests/rotator.zip"
  bootstrap_zip_path    = "tests/dbbootstrap.zip"
  break_glass_role_arns = ["arn:aws:iam::111111111111:role/break-glass"]
  deployer_arns         = ["arn:aws:iam::111111111111:role/rotaudit-deploy"]
  subnet_ids            = ["subnet-1", "subnet-2"]
  security_group_ids    = ["sg-1"]
}

run "defaults" {
  command = plan

  assert {
    condition     = aws_secretsmanager_secret.app.tags["rotaudit:database"] == "db.example.internal:5432/rates" && aws_secretsmanager_secret.app.tags["rotaudit:strategy"] == "alternating-users" && aws_secretsmanager_secret.admin[0].tags["rotaudit:strategy"] == "single-user"
    error_message = "each secret carries what rotaudit fleet shows without reading its value: database, user, strategy"
  }
  assert {
    condition     = module.rotator["single-user"].environment["ROTATION_STRATEGY"] == "single-user" && module.rotator["alternating-users"].environment["ROTATION_STRATEGY"] == "alternating-users"
    error_message = "one rotator per strategy, each with its own ROTATION_STRATEGY"
  }
  assert {
    condition     = output.rotation_strategies == { app = "alternating-users", admin = "single-user" }
    error_message = "the app secret alternates users, the master rotates single-user"
  }
  assert {
    condition     = module.rotator["single-user"].environment["SECRETS_MANAGER_ENDPOINT"] == "https://secretsmanager.eu-west-1.amazonaws.com"
    error_message = "the rotator calls the regional Secrets Manager endpoint"
  }
  assert {
    condition     = module.rotator["single-user"].environment["DB_ALLOW_PLAINTEXT"] == "false"
    error_message = "plaintext is off unless asked for"
  }
  assert {
    condition     = module.rotator["single-user"].environment["DB_ALLOW_INSECURE_PASSWORD_AUTH"] == "false" && module.bootstrap[0].environment["DB_ALLOW_INSECURE_PASSWORD_AUTH"] == "false"
    error_message = "cleartext and MD5 password authentication are refused unless asked for"
  }
  assert {
    condition     = aws_secretsmanager_secret_rotation.app[0].rotation_rules[0].automatically_after_days == 30
    error_message = "rotation every 30 days by default"
  }
  assert {
    condition     = aws_lambda_permission.rotator["app"].source_account == "111111111111" && aws_lambda_permission.rotator["app"].function_name == "rotaudit-test-rotator-alternating-users"
    error_message = "the app secret's invoke permission is limited to this account and its rotator"
  }
  assert {
    condition     = module.rotator["single-user"].subnet_ids == ["subnet-1", "subnet-2"] && module.bootstrap[0].subnet_ids == ["subnet-1", "subnet-2"]
    error_message = "with subnets, the rotators and the bootstrap run in the VPC"
  }
  assert {
    condition     = module.bootstrap[0].function_name == "rotaudit-test-db-bootstrap" && module.bootstrap[0].environment["APP_USERNAME"] == "rates_app" && module.bootstrap[0].environment["DB_NAME"] == "rates"
    error_message = "the bootstrap follows its contract"
  }
  assert {
    condition     = length(aws_secretsmanager_secret_policy.app) == 1 && length(aws_secretsmanager_secret_policy.admin) == 1
    error_message = "both secrets get the deny policy"
  }
  assert {
    condition     = aws_secretsmanager_secret_policy.app[0].block_public_policy
    error_message = "the secret policy refuses public access"
  }
  assert {
    condition     = length(aws_lambda_invocation.bootstrap) == 1
    error_message = "Terraform runs the bootstrap by default"
  }
}

run "single_user_app_on_a_schedule" {
  command = plan

  variables {
    app_rotation_strategy = "single-user"
    rotation_schedule     = "cron(0 4 ? * SUN *)"
  }

  assert {
    condition     = length(module.rotator) == 1 && module.rotator["single-user"].environment["ROTATION_STRATEGY"] == "single-user"
    error_message = "one strategy in use, one rotator"
  }
  assert {
    condition     = aws_secretsmanager_secret_rotation.app[0].rotation_rules[0].schedule_expression == "cron(0 4 ? * SUN *)"
    error_message = "the schedule replaces rotation_days"
  }
}

run "existing_master_secret" {
  command = plan

  variables {
    create_admin_secret = false
    admin_secret_arn    = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/local/admin-AbCdEf"
    admin_password_wo   = null
    invoke_bootstrap    = false
  }

  assert {
    condition     = length(aws_secretsmanager_secret.admin) == 0 && length(module.key) == 1 && length(aws_secretsmanager_secret_policy.admin) == 0
    error_message = "an existing master secret is used, not created or re-policied"
  }
  assert {
    condition     = !strcontains(aws_secretsmanager_secret_version.app.secret_string, "password")
    error_message = "the app secret's first value has no password: the bootstrap sets it"
  }
  assert {
    condition     = jsondecode(aws_secretsmanager_secret_version.app.secret_string).username == "rates_app"
    error_message = "the app secret names the app role"
  }
  assert {
    condition     = jsondecode(aws_secretsmanager_secret_version.app.secret_string).masterarn == var.admin_secret_arn
    error_message = "the app secret's masterarn names the existing master"
  }
  assert {
    condition     = aws_secretsmanager_secret_rotation.admin[0].secret_id == var.admin_secret_arn
    error_message = "the existing master still rotates (single-user)"
  }
  assert {
    condition     = length(aws_lambda_invocation.bootstrap) == 0
    error_message = "invoke_bootstrap = false leaves the run to the caller"
  }
}

run "without_admin_rotation" {
  command = plan

  variables {
    rotate_admin_secret = false
  }

  assert {
    condition     = length(aws_secretsmanager_secret_rotation.admin) == 0 && length(module.rotator) == 1
    error_message = "without admin rotation only the app's strategy gets a rotator"
  }
}

run "rejects_unknown_strategy" {
  command = plan

  variables {
    app_rotation_strategy = "multi-user"
  }

  expect_failures = [var.app_rotation_strategy]
}

run "rejects_rotation_beyond_90_days" {
  command = plan

  variables {
    rotation_days = 91
  }

  expect_failures = [var.rotation_days]
}

run "rejects_app_username_whose_clone_does_not_fit" {
  command = plan

  variables {
    app_username = "a23456789012345678901234567890123456789012345678901234567890"
  }

  expect_failures = [var.app_username]
}

# The deny wins over any grant, so the people of db-access-iam's groups (IAM users, whose
# aws:PrincipalArn is the user's ARN, never the group's) must be named in its exceptions:
# operators on the app secret, break-glass users on both (issue 17). secret_reader_arns is
# the list the deny statement's aws:PrincipalArn condition is built from (the document
# itself is unknown in a plan: it names the roles' ARNs).
run "group_users_are_excepted_from_the_deny" {
  command = plan

  # The functions' role ARNs are unknown in a plan; known ones make the list concrete.
  override_module {
    target          = module.rotator
    override_during = plan
    outputs = {
      function_name = "rotaudit-test-rotator"
      arn           = "arn:aws:lambda:eu-west-1:111111111111:function:rotaudit-test-rotator"
      role_arn      = "arn:aws:iam::111111111111:role/rotaudit-test-rotator"
    }
  }
  override_module {
    target          = module.bootstrap
    override_during = plan
    outputs = {
      function_name = "rotaudit-test-db-bootstrap"
      arn           = "arn:aws:lambda:eu-west-1:111111111111:function:rotaudit-test-db-bootstrap"
      role_arn      = "arn:aws:iam::111111111111:role/rotaudit-test-db-bootstrap"
    }
  }

  variables {
    operator_user_arns    = ["arn:aws:iam::111111111111:user/alice"]
    break_glass_user_arns = ["arn:aws:iam::111111111111:user/ops/bob"]
  }

  assert {
    condition     = contains(output.secret_reader_arns["app"], "arn:aws:iam::111111111111:user/alice") && contains(output.secret_reader_arns["app"], "arn:aws:iam::111111111111:user/ops/bob")
    error_message = "the app secret's deny excepts the operators and the break-glass users"
  }
  assert {
    condition     = contains(output.secret_reader_arns["admin"], "arn:aws:iam::111111111111:user/ops/bob") && !contains(output.secret_reader_arns["admin"], "arn:aws:iam::111111111111:user/alice")
    error_message = "the master secret's deny excepts the break-glass users, not the operators"
  }
}

run "rejects_a_group_for_a_user" {
  command = plan

  variables {
    operator_user_arns = ["arn:aws:iam::111111111111:group/db-operators"]
  }

  expect_failures = [var.operator_user_arns]
}

# A principal that runs Terraform without being in deployer_arns is excepted from the deny
# for its own run only; the next plan by anyone else is denied. The plan says so (issue 17).
run "warns_when_the_deployer_is_not_listed" {
  command = plan

  variables {
    deployer_arns = ["arn:aws:iam::111111111111:role/someone-else"]
  }

  expect_failures = [check.deployer_is_listed]
}

# The comment says the secrets' keys are usable only through Secrets Manager; the key
# policy must say so for every principal, since the account's kms:* would let any IAM
# policy grant a direct Decrypt (issue 17).
run "secret_keys_refuse_use_outside_secrets_manager" {
  command = plan

  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.key.statement : s.effect == "Deny" && contains(s.actions, "kms:Decrypt") && anytrue([
      for c in s.condition : c.test == "StringNotEquals" && c.variable == "kms:ViaService" && contains(c.values, "secretsmanager.eu-west-1.amazonaws.com")
    ]) && anytrue([for p in s.principals : contains(p.identifiers, "*")])])
    error_message = "the secrets' key policy denies kms:Decrypt to everyone outside Secrets Manager (kms:ViaService)"
  }
}

# Many databases share rotators made by the caller (modules/rotaudit): this module then
# makes no rotator, no invoke permission and no rotation, and exempts the caller's rotator
# roles from the secrets' deny.
run "rotation_left_to_the_caller" {
  command = plan

  override_module {
    target          = module.bootstrap
    override_during = plan
    outputs = {
      function_name = "rotaudit-test-db-bootstrap"
      arn           = "arn:aws:lambda:eu-west-1:111111111111:function:rotaudit-test-db-bootstrap"
      role_arn      = "arn:aws:iam::111111111111:role/rotaudit-test-db-bootstrap"
    }
  }

  variables {
    create_rotation   = false
    rotator_role_arns = ["arn:aws:iam::111111111111:role/rotaudit-test-rotator-alternating-users"]
  }

  assert {
    condition     = length(module.rotator) == 0 && length(aws_lambda_permission.rotator) == 0 && length(aws_secretsmanager_secret_rotation.app) == 0 && length(aws_secretsmanager_secret_rotation.admin) == 0
    error_message = "create_rotation = false makes no rotator, permission or rotation"
  }
  assert {
    condition     = contains(output.secret_reader_arns["app"], "arn:aws:iam::111111111111:role/rotaudit-test-rotator-alternating-users") && contains(output.secret_reader_arns["admin"], "arn:aws:iam::111111111111:role/rotaudit-test-rotator-alternating-users")
    error_message = "the caller's rotator roles are exempted from the deny"
  }
}

# A further application (issue 21): its own secret app-<username> and key, rotation with its
# own strategy by this module's rotator of that strategy, the bootstrap's second user; the
# app secret keeps its addresses and names.
run "more_app_users" {
  command = plan

  variables {
    app_rotation_strategy = "single-user"
    more_app_users        = [{ username = "report_app" }]
  }

  assert {
    condition     = aws_secretsmanager_secret.app.name == "rotaudit/test/app" && aws_secretsmanager_secret.more_app["app-report_app"].name == "rotaudit/test/app-report_app"
    error_message = "the first user keeps the app secret; the second gets app-<username>"
  }
  assert {
    condition     = aws_secretsmanager_secret.more_app["app-report_app"].tags["rotaudit:username"] == "report_app" && aws_secretsmanager_secret.more_app["app-report_app"].tags["rotaudit:strategy"] == "alternating-users"
    error_message = "the second secret carries its user and strategy for rotaudit fleet"
  }
  assert {
    condition     = output.rotation_strategies == { app = "single-user", "app-report_app" = "alternating-users", admin = "single-user" }
    error_message = "each app user's secret rotates with its own strategy"
  }
  assert {
    condition     = toset(keys(module.key)) == toset(["app", "admin", "app-report_app"]) && module.key["app-report_app"] != null
    error_message = "the second secret has a key of its own"
  }
  assert {
    condition     = length(aws_secretsmanager_secret_rotation.more_app) == 1 && toset(keys(aws_lambda_permission.rotator)) == toset(["app", "admin", "app-report_app"])
    error_message = "the second secret's rotation and invoke permission are made here"
  }
  assert {
    condition     = module.bootstrap[0].environment["APP_USERNAME"] == "rates_app,report_app"
    error_message = "the bootstrap makes both logins"
  }
  assert {
    condition     = output.app_usernames == ["rates_app", "report_app", "report_app_clone"] && output.alternating_pairs == [["report_app", "report_app_clone"]]
    error_message = "the auditor's users and pairs hold the second user and its partner"
  }
}

# Each further user rotates on its own schedule when it has one: its own rotation_schedule,
# else its own rotation_days (even where the module has a schedule), else the module's.
run "more_app_users_schedules" {
  command = plan

  variables {
    rotation_days     = 30
    rotation_schedule = "rate(10 days)"
    more_app_users = [
      { username = "weekly_app", rotation_days = 7 },
      { username = "cron_app", rotation_schedule = "cron(0 4 ? * SUN *)" },
      { username = "plain_app" },
    ]
  }

  assert {
    condition = (
      aws_secretsmanager_secret_rotation.more_app["app-weekly_app"].rotation_rules[0].automatically_after_days == 7 &&
      aws_secretsmanager_secret_rotation.more_app["app-weekly_app"].rotation_rules[0].schedule_expression == null
    )
    error_message = "a further user's own rotation_days wins over the module's schedule"
  }
  assert {
    condition     = aws_secretsmanager_secret_rotation.more_app["app-cron_app"].rotation_rules[0].schedule_expression == "cron(0 4 ? * SUN *)"
    error_message = "a further user's own schedule"
  }
  assert {
    condition     = aws_secretsmanager_secret_rotation.more_app["app-plain_app"].rotation_rules[0].schedule_expression == "rate(10 days)"
    error_message = "a further user without a schedule of its own takes the module's"
  }
}

# A further user's own readers are exempted from its secret's deny, not from the app
# secret's (the principals are known at plan when the caller makes the rotation).
run "more_app_users_readers" {
  command = plan

  override_module {
    target          = module.bootstrap
    override_during = plan
    outputs = {
      function_name = "rotaudit-test-db-bootstrap"
      arn           = "arn:aws:lambda:eu-west-1:111111111111:function:rotaudit-test-db-bootstrap"
      role_arn      = "arn:aws:iam::111111111111:role/rotaudit-test-db-bootstrap"
    }
  }

  variables {
    create_rotation   = false
    rotator_role_arns = ["arn:aws:iam::111111111111:role/rotaudit-test-rotator-alternating-users"]
    more_app_users    = [{ username = "report_app", reader_arns = ["arn:aws:iam::111111111111:role/reporting"] }]
  }

  assert {
    condition     = contains(output.secret_reader_arns["app-report_app"], "arn:aws:iam::111111111111:role/reporting") && !contains(output.secret_reader_arns["app"], "arn:aws:iam::111111111111:role/reporting")
    error_message = "a further user's own readers may read its secret, and not the app secret"
  }
}

run "rejects_a_more_app_users_reader_that_is_no_principal_arn" {
  command = plan

  variables {
    more_app_users = [{ username = "report_app", reader_arns = ["reporting"] }]
  }

  expect_failures = [var.more_app_users]
}

run "rejects_a_more_app_users_rotation_days_over_90" {
  command = plan

  variables {
    more_app_users = [{ username = "report_app", rotation_days = 120 }]
  }

  expect_failures = [var.more_app_users]
}

run "rejects_a_more_app_user_that_is_a_clone" {
  command = plan

  variables {
    more_app_users = [{ username = "rates_app_clone", strategy = "single-user" }]
  }

  expect_failures = [var.more_app_users]
}

run "rejects_the_master_as_a_more_app_user" {
  command = plan

  variables {
    more_app_users = [{ username = "rotaudit_admin", strategy = "single-user" }]
  }

  expect_failures = [var.more_app_users]
}
