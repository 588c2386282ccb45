# Plan-only tests with the shared mocked provider (modules/_internal/testing).

mock_provider "aws" {
  source = "../_internal/testing/aws"
}

variables {
  name = "rotaudit-test"
}

run "defaults_move_to_glacier_then_expire" {
  command = plan

  assert {
    condition     = [for t in aws_s3_bucket_lifecycle_configuration.this.rule[0].transition : t.days] == [90] && aws_s3_bucket_lifecycle_configuration.this.rule[0].expiration[0].days == 2555
    error_message = "by default log files move to Glacier at 90 days and expire after seven years"
  }
  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.this.rule[0].noncurrent_version_expiration[0].noncurrent_days == 2555
    error_message = "noncurrent versions expire after the same period"
  }
}

run "short_retention_without_transition" {
  command = plan

  variables {
    expiration_days            = 90
    transition_to_glacier_days = null
  }

  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.this.rule[0].transition) == 0 && aws_s3_bucket_lifecycle_configuration.this.rule[0].expiration[0].days == 90
    error_message = "transition_to_glacier_days = null leaves the transition out"
  }
}

# What S3 refuses (issue 17: dev expired at 90 days what it moved to Glacier at 90):
# an expiration not later than the transition.
run "rejects_expiration_on_the_transition_day" {
  command = plan

  variables {
    expiration_days            = 90
    transition_to_glacier_days = 90
  }

  expect_failures = [aws_s3_bucket_lifecycle_configuration.this]
}

run "rejects_expiration_before_the_transition" {
  command = plan

  variables {
    expiration_days = 30
  }

  expect_failures = [aws_s3_bucket_lifecycle_configuration.this]
}

run "rejects_fractional_or_negative_days" {
  command = plan

  variables {
    expiration_days            = 0
    transition_to_glacier_days = -1
  }

  expect_failures = [var.expiration_days, var.transition_to_glacier_days]
}
