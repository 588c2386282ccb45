# Plan-only tests with the shared mocked provider (modules/_internal/testing).

mock_provider "aws" {
  source = "../_internal/testing/aws"
}

variables {
  name                  = "rotaudit-test"
  central_event_bus_arn = "arn:aws:events:eu-west-1:222222222222:event-bus/rotaudit-test-org-audit"
}

run "forwards_the_generated_patterns_to_the_central_bus" {
  command = plan

  assert {
    condition     = toset(keys(aws_cloudwatch_event_rule.this)) == toset(["management", "access", "iam"])
    error_message = "every generated pattern is forwarded by default"
  }
  assert {
    condition     = aws_cloudwatch_event_rule.this["management"].event_pattern == file("${path.module}/../audit-alerts/patterns/management-events.json")
    error_message = "the rules carry the auditor's own generated patterns"
  }
  assert {
    condition     = alltrue([for r in aws_cloudwatch_event_rule.this : r.state == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" && r.event_bus_name == "default"])
    error_message = "read-only calls (GetSecretValue, AssumeRole) are forwarded from the default bus"
  }
  assert {
    condition     = alltrue([for t in aws_cloudwatch_event_target.this : t.arn == var.central_event_bus_arn])
    error_message = "every rule targets the security account's bus"
  }
}

run "role_may_put_on_the_central_bus_only" {
  command = plan

  assert {
    condition     = one(data.aws_iam_policy_document.forward.statement).resources == toset([var.central_event_bus_arn]) && one(data.aws_iam_policy_document.forward.statement).actions == toset(["events:PutEvents"])
    error_message = "the role may only put events on the central bus"
  }
  assert {
    condition     = one(one(data.aws_iam_policy_document.trust.statement).condition).variable == "aws:SourceAccount"
    error_message = "only this account's EventBridge may assume the role"
  }
}

run "only_iam_in_us_east_1" {
  command = plan

  variables {
    forward = ["iam"]
  }

  assert {
    condition     = keys(aws_cloudwatch_event_rule.this) == ["iam"]
    error_message = "forward chooses the patterns"
  }
}

run "rejects_a_bus_name_for_an_arn" {
  command = plan

  variables {
    central_event_bus_arn = "rotaudit-test-org-audit"
  }

  expect_failures = [var.central_event_bus_arn]
}

run "rejects_an_unknown_pattern" {
  command = plan

  variables {
    forward = ["management", "s3"]
  }

  expect_failures = [var.forward]
}
