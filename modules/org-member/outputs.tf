output "role_arn" {
  description = "ARN of the role EventBridge assumes to put events on the security account's bus."
  value       = aws_iam_role.this.arn
}

output "rule_arns" {
  description = "ARNs of the forwarding rules, by pattern (management, access, iam)."
  value       = { for k, r in aws_cloudwatch_event_rule.this : k => r.arn }
}

output "rule_names" {
  description = "Names of the forwarding rules, by pattern (management, access, iam)."
  value       = { for k, r in aws_cloudwatch_event_rule.this : k => r.name }
}

output "account_id" {
  description = "The member account whose events are forwarded (for the auditor's member_accounts)."
  value       = local.account_id
}
