data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id

  # The auditor's own patterns, generated from its rules (internal/audit/patterns.go) into
  # modules/audit-alerts/patterns and read from there, so that what a member forwards is
  # exactly what the auditor's rules look at in its own account.
  patterns = {
    management = {
      file        = "management-events.json"
      description = "Forward the management events the auditor's rules read to the security account."
    }
    access = {
      file        = "access-events.json"
      description = "Forward the role assumptions and federation the auditor's rules read to the security account."
    }
    iam = {
      file        = "iam-events.json"
      description = "Forward the IAM changes the auditor's rules read to the security account (us-east-1 only)."
    }
  }
  rules = { for k, v in local.patterns : k => merge(v, { pattern = file("${path.module}/../audit-alerts/patterns/${v.file}") }) if contains(var.forward, k) }
}

# ------------------------------------------------------------------ the role EventBridge uses

data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "EventBridgeOfThisAccount"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    # Only this account's rules may use the role (the confused-deputy guard).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-org-forward"
  description        = "EventBridge forwards the audit's events to the security account's bus."
  assume_role_policy = data.aws_iam_policy_document.trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "forward" {
  statement {
    sid       = "PutOnCentralBus"
    actions   = ["events:PutEvents"]
    resources = [var.central_event_bus_arn]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "forward-to-central-bus"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.forward.json
}

# ------------------------------------------------------------------ the rules

# On the default bus, where CloudTrail delivers this account's management events.
resource "aws_cloudwatch_event_rule" "this" {
  for_each = local.rules

  name           = "${var.name}-org-${each.key}"
  description    = each.value.description
  event_bus_name = "default"
  event_pattern  = each.value.pattern
  state          = var.rule_state
  tags           = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.rules

  rule           = aws_cloudwatch_event_rule.this[each.key].name
  event_bus_name = "default"
  target_id      = "security-account"
  arn            = var.central_event_bus_arn
  role_arn       = aws_iam_role.this.arn
}
