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

run "organization_trail_writes_under_the_organization_prefix" {
  command = plan

  # The bucket's ARN, known at plan time here, so that the prefixes can be compared.
  override_resource {
    target          = aws_s3_bucket.this
    override_during = plan
    values = {
      arn = "arn:aws:s3:::rotaudit-test-cloudtrail"
    }
  }

  variables {
    organization_id       = "o-a1b2c3d4e5"
    management_account_id = "999999999999"
  }

  assert {
    condition     = aws_cloudtrail.this[0].is_organization_trail
    error_message = "organization_id makes an organization trail"
  }
  assert {
    condition     = toset(local.log_prefixes) == toset(["arn:aws:s3:::rotaudit-test-cloudtrail/AWSLogs/999999999999/*", "arn:aws:s3:::rotaudit-test-cloudtrail/AWSLogs/o-a1b2c3d4e5/*"])
    error_message = "CloudTrail may write the management account's files and every member's, under AWSLogs/<organization id>/"
  }
  assert {
    condition     = endswith(local.trail_arn, ":999999999999:trail/rotaudit-test")
    error_message = "an organization trail belongs to the management account, whose id its ARN (the policies' source ARN) carries"
  }
}

run "rejects_a_malformed_organization_id" {
  command = plan

  variables {
    organization_id = "a1b2c3d4e5"
  }

  expect_failures = [var.organization_id]
}
