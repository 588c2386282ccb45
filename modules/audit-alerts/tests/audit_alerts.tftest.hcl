# Plan-only tests with mocked providers: need Terraform 1.7+ (mock_provider) and the
# provider schema from `terraform init`, so they run where the provider can be
# downloaded: cd into the module and run `terraform init && terraform test`.

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
  trail_bucket_name   = "rotaudit-test-cloudtrail"
  s3_backfill         = true
}

run "iam_events_forwarded_from_us_east_1" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_event_rule.iam) == 1 && length(aws_cloudwatch_event_target.iam_forward) == 1
    error_message = "outside us-east-1 the IAM rule forwards to the home bus"
  }
  assert {
    condition     = length(aws_cloudwatch_event_rule.iam_home) == 1 && length(aws_cloudwatch_event_target.iam_direct) == 0
    error_message = "the forwarded events are matched again at home"
  }
  assert {
    condition     = aws_cloudwatch_event_rule.this["management"].state == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    error_message = "read-only management events must reach the auditor"
  }
  assert {
    condition     = aws_cloudwatch_event_rule.this["access"].state == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" && aws_lambda_permission.this["access"].principal == "events.amazonaws.com"
    error_message = "AssumeRole and GetFederationToken are read-only: the access rule needs the management rule's state, and may invoke the auditor"
  }
  assert {
    condition     = keys(output.rule_names) == ["access", "iam", "iam_forwarded", "management"]
    error_message = "every rule that invokes the auditor is in rule_names, which rotaudit check and the e2e read"
  }
  assert {
    condition     = module.auditor.tracing_mode == "PassThrough"
    error_message = "the auditor is not traced unless lambda_tracing is set"
  }
  assert {
    condition     = jsondecode(output.audit_config).watched_secrets[0].arn == var.watched_secret_arns[0]
    error_message = "the generated audit configuration watches the given secrets"
  }
  assert {
    condition     = module.auditor.environment["AUDIT_CONFIG_FILE"] == ""
    error_message = "only one of AUDIT_CONFIG and AUDIT_CONFIG_FILE is set"
  }
  assert {
    condition     = module.auditor.environment["AUDIT_CONFIG"] == base64gzip(output.audit_config) && startswith(module.auditor.environment["AUDIT_CONFIG"], "H4sI")
    error_message = "AUDIT_CONFIG is the generated document gzipped, in base64"
  }
  assert {
    condition     = aws_dynamodb_table.state.hash_key == "pk" && aws_dynamodb_table.state.range_key == "sk" && aws_dynamodb_table.state.ttl[0].attribute_name == "ttl"
    error_message = "the state table follows the contract: pk, sk, ttl"
  }
  assert {
    condition     = length(aws_s3_bucket_notification.trail) == 1
    error_message = "log files in the trail bucket invoke the auditor"
  }
}

run "home_region_us_east_1_invokes_directly" {
  command = plan

  override_data {
    target = data.aws_region.current
    values = {
      name = "us-east-1"
    }
  }

  assert {
    condition     = length(aws_cloudwatch_event_target.iam_direct) == 1 && length(aws_cloudwatch_event_rule.iam_home) == 0
    error_message = "in us-east-1 the IAM rule invokes the Lambda itself"
  }
}

run "no_notification_without_the_flag" {
  command = plan

  variables {
    s3_backfill         = false
    deletion_protection = false
  }

  assert {
    condition     = length(aws_s3_bucket_notification.trail) == 0
    error_message = "no notification unless asked for"
  }
  assert {
    condition     = aws_dynamodb_table.state.deletion_protection_enabled == false
    error_message = "deletion protection follows the variable"
  }
}

run "no_backfill_queue_by_default" {
  command = plan

  assert {
    condition     = length(aws_sqs_queue.backfill) == 0 && length(aws_lambda_event_source_mapping.backfill) == 0 && output.backfill_queue_url == null
    error_message = "no backfill queue or event source mapping unless backfill_enabled"
  }
}

run "backfill_queue_feeds_the_auditor" {
  command = plan

  variables {
    s3_backfill              = false
    backfill_enabled         = true
    backfill_max_concurrency = 100
  }

  assert {
    condition     = aws_sqs_queue.backfill[0].fifo_queue && !aws_sqs_queue.backfill[0].content_based_deduplication && aws_sqs_queue.backfill[0].fifo_throughput_limit == "perMessageGroupId"
    error_message = "the backfill queue is FIFO (order per message group), deduplicated by the sender's ids"
  }
  assert {
    condition     = aws_sqs_queue.backfill[0].sqs_managed_sse_enabled && aws_sqs_queue.backfill_dlq[0].fifo_queue && aws_sqs_queue.backfill[0].visibility_timeout_seconds == 6 * var.lambda_timeout_seconds
    error_message = "the backfill queue is encrypted, has a FIFO dead-letter queue, and hides a batch for six times the function's timeout"
  }
  assert {
    condition     = aws_lambda_event_source_mapping.backfill[0].scaling_config[0].maximum_concurrency == 100 && aws_lambda_event_source_mapping.backfill[0].function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "the event source mapping bounds the auditors and takes per-message failures"
  }
  assert {
    condition     = length(aws_s3_bucket_notification.trail) == 0
    error_message = "the backfill queue needs no bucket notification"
  }
}

run "backfill_needs_the_trail_bucket" {
  command = plan

  variables {
    s3_backfill       = false
    backfill_enabled  = true
    trail_bucket_name = null
  }

  expect_failures = [aws_sqs_queue.backfill]
}

run "backfill_concurrency_bounds" {
  command = plan

  variables {
    backfill_max_concurrency = 1
  }

  expect_failures = [var.backfill_max_concurrency]
}

run "config_file_replaces_generated_config" {
  command = plan

  variables {
    audit_config_file = "/var/task/audit.json"
  }

  assert {
    condition     = module.auditor.environment["AUDIT_CONFIG"] == ""
    error_message = "AUDIT_CONFIG must be empty when AUDIT_CONFIG_FILE is set"
  }
}

run "optional_config_sections_left_out_by_default" {
  command = plan

  assert {
    condition = length(setintersection(keys(jsondecode(output.audit_config)),
    ["trails", "databases", "vpc_endpoints", "db_logins"])) == 0
    error_message = "unset optional sections stay out of AUDIT_CONFIG"
  }
  assert {
    condition     = !contains(keys(jsondecode(output.audit_config).ecs), "registries")
    error_message = "ecs.registries stays out unless set"
  }
}

run "optional_config_sections_when_set" {
  command = plan

  variables {
    trails           = [{ arn = "arn:aws:cloudtrail:eu-west-1:111111111111:trail/rotaudit-test", bucket = "rotaudit-test-cloudtrail" }]
    databases        = ["rotaudit-test"]
    vpc_endpoint_ids = ["vpce-0123456789abcdef0"]
    ecs_registries   = ["111111111111.dkr.ecr.eu-west-1.amazonaws.com/rotaudit-test/rates-api:"]
    db_logins = {
      users             = ["rates_app", "rates_app_clone"]
      admin_users       = ["rotaudit_admin"]
      alternating_pairs = [["rates_app", "rates_app_clone"]]
      admin_window      = "20m"
    }
  }

  assert {
    condition     = jsondecode(output.audit_config).trails[0].bucket == "rotaudit-test-cloudtrail"
    error_message = "trails carry the trail and its bucket"
  }
  assert {
    condition = (jsondecode(output.audit_config).databases == ["rotaudit-test"]
      && jsondecode(output.audit_config).vpc_endpoints == ["vpce-0123456789abcdef0"]
    && length(jsondecode(output.audit_config).ecs.registries) == 1)
    error_message = "databases, vpc_endpoints and ecs.registries are passed through"
  }
  assert {
    condition     = keys(jsondecode(output.audit_config).db_logins) == ["admin_users", "admin_window", "alternating_pairs", "users"]
    error_message = "db_logins holds the fields set and no null ones (the auditor rejects a null duration)"
  }
}

run "rejects_bad_db_logins" {
  command = plan

  variables {
    db_logins = {
      client_networks   = ["10.0.1.0"]
      alternating_pairs = [["rates_app", "rates_app"]]
    }
  }

  expect_failures = [var.db_logins]
}

run "organization_names_its_accounts" {
  command = plan

  variables {
    member_account_ids = ["222222222222", "333333333333"]
  }

  assert {
    condition     = jsondecode(output.audit_config).account_id == "111111111111" && jsondecode(output.audit_config).member_accounts == ["222222222222", "333333333333"]
    error_message = "an organization's auditor knows its own account and the members (it skips records of any other)"
  }
}

run "single_account_names_none" {
  command = plan

  assert {
    condition     = !contains(keys(jsondecode(output.audit_config)), "account_id") && !contains(keys(jsondecode(output.audit_config)), "member_accounts")
    error_message = "a single-account deployment's configuration is as before"
  }
}
