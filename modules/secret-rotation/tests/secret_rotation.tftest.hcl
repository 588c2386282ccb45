# Plan-only tests with mocked providers: need Terraform 1.7+ (mock_provider) and the
# provider schema from `terraform init`, so they run where the provider can be
# downloaded: cd into the module and run `terraform init && terraform test`.

mock_provider "aws" {
  # Policy documents are rendered by the provider; a mock needs valid JSON in their place.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "111111111111"
    }
  }
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
}

variables {
  name                   = "rotaudit-test"
  secret_name_prefix     = "rotaudit/test"
  db_host                = "db.example.internal"
  admin_initial_password = "0123456789abcdef0123"
  lambda_zip_path        = "tests/rotator.zip"
  subnet_ids             = ["subnet-1", "subnet-2"]
  security_group_ids     = ["sg-1"]
}

run "defaults" {
  command = plan

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ROTATION_STRATEGY"] == "single-user"
    error_message = "single-user is the default strategy"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["SECRETS_MANAGER_ENDPOINT"] == "https://secretsmanager.eu-west-1.amazonaws.com"
    error_message = "the rotator calls the regional Secrets Manager endpoint"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["DB_ALLOW_PLAINTEXT"] == "false"
    error_message = "plaintext is off unless asked for"
  }
  assert {
    condition     = aws_secretsmanager_secret_rotation.app.rotation_rules[0].automatically_after_days == 30
    error_message = "rotation every 30 days by default"
  }
  assert {
    condition     = aws_lambda_permission.secretsmanager.source_account == "111111111111"
    error_message = "the invoke permission is limited to this account"
  }
  assert {
    condition     = length(aws_lambda_function.this.vpc_config) == 1
    error_message = "with subnets, the rotator runs in the VPC"
  }
}

run "alternating_users_on_a_schedule" {
  command = plan

  variables {
    rotation_strategy   = "alternating-users"
    rotation_schedule   = "cron(0 4 ? * SUN *)"
    rotate_admin_secret = false
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ROTATION_STRATEGY"] == "alternating-users"
    error_message = "the strategy reaches the Lambda"
  }
  assert {
    condition     = aws_secretsmanager_secret_rotation.app.rotation_rules[0].schedule_expression == "cron(0 4 ? * SUN *)"
    error_message = "the schedule replaces rotation_days"
  }
  assert {
    condition     = length(aws_secretsmanager_secret_rotation.admin) == 0
    error_message = "the admin secret is not rotated when rotate_admin_secret is false"
  }
}

run "rejects_unknown_strategy" {
  command = plan

  variables {
    rotation_strategy = "multi-user"
  }

  expect_failures = [var.rotation_strategy]
}

run "rejects_rotation_beyond_90_days" {
  command = plan

  variables {
    rotation_days = 91
  }

  expect_failures = [var.rotation_days]
}
