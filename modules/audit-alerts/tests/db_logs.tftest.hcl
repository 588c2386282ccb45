# Plan-only tests of the database log subscription (db_logs.tf), with mocked providers as
# in audit_alerts.tftest.hcl.

mock_provider "aws" {
  source = "../_internal/testing/aws"
}
mock_provider "aws" {
  alias  = "us_east_1"
  source = "../_internal/testing/aws-us-east-1"
}

variables {
  name                = "rotaudit-test"
  lambda_zip_path     = "tests/auditor.zip"
  watched_secret_arns = ["arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/app-AbCdEf"]
}

run "no_database_logs_by_default" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_log_subscription_filter.db) == 0 && length(aws_lambda_permission.db_logs) == 0 && length(aws_cloudwatch_log_group.db) == 0
    error_message = "nothing is subscribed unless a log group is named"
  }
}

run "rds_export_managed_and_subscribed" {
  command = plan

  variables {
    db_log_groups_managed = ["/aws/rds/instance/rotaudit-test/postgresql"]
    db_log_group_names    = ["/ecs/rotaudit-test-postgres"]
    db_log_kms_key_arn    = "arn:aws:kms:eu-west-1:111111111111:key/1111aaaa-22bb-33cc-44dd-555566667777"
  }

  assert {
    condition     = aws_cloudwatch_log_group.db["/aws/rds/instance/rotaudit-test/postgresql"].retention_in_days == 365 && aws_cloudwatch_log_group.db["/aws/rds/instance/rotaudit-test/postgresql"].kms_key_id != null
    error_message = "the RDS export group is created with retention and the CMK"
  }
  assert {
    condition     = length(aws_cloudwatch_log_subscription_filter.db) == 2 && length(aws_lambda_permission.db_logs) == 2
    error_message = "both groups are subscribed, each with its own invoke permission"
  }
  assert {
    condition     = aws_lambda_permission.db_logs["/ecs/rotaudit-test-postgres"].source_arn == "arn:aws:logs:eu-west-1:111111111111:log-group:/ecs/rotaudit-test-postgres:*"
    error_message = "the permission is scoped to the log group"
  }
  assert {
    condition     = strcontains(aws_cloudwatch_log_subscription_filter.db["/ecs/rotaudit-test-postgres"].filter_pattern, "authentication failed")
    error_message = "the filter passes authentication failures"
  }
}

run "bad_retention_refused" {
  command = plan

  variables {
    db_log_retention_days = 10
  }
  expect_failures = [var.db_log_retention_days]
}
