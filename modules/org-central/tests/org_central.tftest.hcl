# Plan-only tests with the shared mocked provider (modules/_internal/testing).

mock_provider "aws" {
  source = "../_internal/testing/aws"
}

variables {
  name                 = "rotaudit-test"
  auditor_function_arn = "arn:aws:lambda:eu-west-1:111111111111:function:rotaudit-test-auditor"
  organization_id      = "o-a1b2c3d4e5"
  member_account_ids   = ["222222222222"]
}

run "bus_open_to_the_organization_and_members_only" {
  command = plan

  assert {
    condition     = toset([for s in data.aws_iam_policy_document.bus.statement : s.sid]) == toset(["MembersPutEvents", "OrganizationPutsEvents"])
    error_message = "the members and the organization may put events"
  }
  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.bus.statement : s.actions == toset(["events:PutEvents"])])
    error_message = "the bus policy grants PutEvents only"
  }
  assert {
    condition     = length(one([for s in data.aws_iam_policy_document.bus.statement : s if s.sid == "OrganizationPutsEvents"]).condition) == 1 && alltrue([for c in one([for s in data.aws_iam_policy_document.bus.statement : s if s.sid == "OrganizationPutsEvents"]).condition : c.test == "StringEquals" && c.variable == "aws:PrincipalOrgID" && tolist(c.values) == tolist(["o-a1b2c3d4e5"])])
    error_message = "any principal of the organization, and only of it"
  }
  assert {
    condition     = tolist(flatten([for p in one([for s in data.aws_iam_policy_document.bus.statement : s if s.sid == "MembersPutEvents"]).principals : [for i in p.identifiers : "${p.type}:${i}"]])) == tolist(["AWS:arn:aws:iam::222222222222:root"])
    error_message = "the listed members by account"
  }
}

run "rules_on_the_bus_invoke_the_auditor" {
  command = plan

  assert {
    condition     = toset(keys(aws_cloudwatch_event_rule.this)) == toset(["management", "access", "iam"])
    error_message = "every generated pattern reaches the auditor"
  }
  assert {
    condition     = aws_cloudwatch_event_rule.this["access"].event_pattern == file("${path.module}/../audit-alerts/patterns/access-events.json")
    error_message = "the central rules use the auditor's generated patterns"
  }
  assert {
    condition     = alltrue([for t in aws_cloudwatch_event_target.this : t.arn == var.auditor_function_arn]) && alltrue([for p in aws_lambda_permission.this : p.principal == "events.amazonaws.com"])
    error_message = "the rules invoke the auditor, which lets EventBridge do so"
  }
  assert {
    condition     = length(module.trail) == 0 && output.trail_arn == null
    error_message = "no trail unless asked for"
  }
}

run "organization_trail" {
  command = plan

  variables {
    create_organization_trail = true
    management_account_id     = "999999999999"
  }

  assert {
    condition     = length(module.trail) == 1
    error_message = "create_organization_trail makes the organization trail with modules/audit-trail"
  }
}

run "members_only_without_organization" {
  command = plan

  variables {
    organization_id = null
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.bus.statement : s.sid] == ["MembersPutEvents"]
    error_message = "without an organization only the listed members may put events"
  }
}

run "rejects_a_bus_open_to_nobody" {
  command = plan

  variables {
    organization_id    = null
    member_account_ids = []
  }

  expect_failures = [aws_cloudwatch_event_bus_policy.this]
}

run "rejects_a_malformed_member" {
  command = plan

  variables {
    member_account_ids = ["2222"]
  }

  expect_failures = [var.member_account_ids]
}
