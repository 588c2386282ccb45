output "role_arn" {
  description = "ARN of the forwarding role."
  value       = module.org_member.role_arn
}

output "account_id" {
  description = "The member account id, for the auditor's member_accounts."
  value       = module.org_member.account_id
}
