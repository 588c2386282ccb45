output "event_bus_arn" {
  description = "ARN of the central bus: modules/org-member's central_event_bus_arn."
  value       = aws_cloudwatch_event_bus.this.arn
}

output "event_bus_name" {
  description = "Name of the central bus."
  value       = aws_cloudwatch_event_bus.this.name
}

output "rule_names" {
  description = "Names of the rules on the central bus that invoke the auditor, by pattern (management, access, iam)."
  value       = { for k, r in aws_cloudwatch_event_rule.this : k => r.name }
}

output "trail_arn" {
  description = "ARN of the organization trail (null unless create_organization_trail)."
  value       = var.create_organization_trail ? module.trail[0].trail_arn : null
}

output "trail_bucket_name" {
  description = "Bucket of the organization trail, for modules/audit-alerts' trail_bucket_name (null unless create_organization_trail)."
  value       = var.create_organization_trail ? module.trail[0].bucket_name : null
}

output "trail_kms_key_arn" {
  description = "KMS key of the organization trail's log files, for modules/audit-alerts' trail_kms_key_arn (null unless create_organization_trail)."
  value       = var.create_organization_trail ? module.trail[0].kms_key_arn : null
}
