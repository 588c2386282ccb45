data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition

  # The auditor's generated patterns (internal/audit/patterns.go writes them to
  # modules/audit-alerts/patterns), the same the members forward with modules/org-member.
  patterns = {
    management = "management-events.json"
    access     = "access-events.json"
    iam        = "iam-events.json"
  }
}

# ------------------------------------------------------------------ the central bus

# A bus of its own rather than the default one: a policy opening the default bus to the
# organization would let every member put events beside this account's own CloudTrail
# events, and the audit's rules there (modules/audit-alerts) already read those.
resource "aws_cloudwatch_event_bus" "this" {
  name = "${var.name}-org-audit"
  tags = var.tags
}

data "aws_iam_policy_document" "bus" {
  dynamic "statement" {
    for_each = length(var.member_account_ids) > 0 ? [1] : []
    content {
      sid       = "MembersPutEvents"
      actions   = ["events:PutEvents"]
      resources = [aws_cloudwatch_event_bus.this.arn]
      principals {
        type        = "AWS"
        identifiers = [for a in var.member_account_ids : "arn:${local.partition}:iam::${a}:root"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.organization_id == null ? [] : [var.organization_id]
    content {
      sid       = "OrganizationPutsEvents"
      actions   = ["events:PutEvents"]
      resources = [aws_cloudwatch_event_bus.this.arn]
      # Any principal, as long as it belongs to the organization.
      principals {
        type        = "AWS"
        identifiers = ["*"]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:PrincipalOrgID"
        values   = [statement.value]
      }
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "this" {
  event_bus_name = aws_cloudwatch_event_bus.this.name
  policy         = data.aws_iam_policy_document.bus.json

  lifecycle {
    precondition {
      condition     = var.organization_id != null || length(var.member_account_ids) > 0
      error_message = "Set organization_id or member_account_ids: otherwise no account may put events on the bus."
    }
  }
}

# ------------------------------------------------------------------ rules to the auditor

# Forwarded events are ordinary events on this bus (EventBridge's read-only CloudTrail
# delivery concerns the default bus of the account that made the call, where the members'
# rules already asked for it), so ENABLED is enough here.
resource "aws_cloudwatch_event_rule" "this" {
  for_each = local.patterns

  name           = "${var.name}-org-audit-${each.key}"
  description    = "Member accounts' ${each.key} events to the auditor."
  event_bus_name = aws_cloudwatch_event_bus.this.name
  event_pattern  = file("${path.module}/../audit-alerts/patterns/${each.value}")
  state          = "ENABLED"
  tags           = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.patterns

  rule           = aws_cloudwatch_event_rule.this[each.key].name
  event_bus_name = aws_cloudwatch_event_bus.this.name
  target_id      = "auditor"
  arn            = var.auditor_function_arn

  dynamic "dead_letter_config" {
    for_each = var.dead_letter_queue_arn == null ? [] : [var.dead_letter_queue_arn]
    content {
      arn = dead_letter_config.value
    }
  }
  retry_policy {
    maximum_retry_attempts       = 8
    maximum_event_age_in_seconds = 3600
  }
}

resource "aws_lambda_permission" "this" {
  for_each = local.patterns

  statement_id  = "${var.name}-org-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = var.auditor_function_arn
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this[each.key].arn
}

# ------------------------------------------------------------------ the organization trail

module "trail" {
  source = "../audit-trail"
  count  = var.create_organization_trail ? 1 : 0

  name                  = "${var.name}-org"
  organization_id       = var.organization_id
  management_account_id = var.management_account_id
  force_destroy         = var.trail_force_destroy
  tags                  = var.tags
}

check "organization_trail_needs_the_organization" {
  assert {
    condition     = !var.create_organization_trail || var.organization_id != null
    error_message = "create_organization_trail needs organization_id: without it the trail would record this account only."
  }
}
