output "read_app_secret_policy_arn" {
  description = "ARN of the managed policy that reads the application secret."
  value       = aws_iam_policy.read_app_secret.arn
}

output "rotate_secret_policy_arn" {
  description = "ARN of the managed policy that rotates the database secrets."
  value       = aws_iam_policy.rotate_secret.arn
}

output "application_role_arns" {
  description = "ARNs of the application roles by name."
  value       = { for k, r in aws_iam_role.application : k => r.arn }
}

output "group_names" {
  description = "Names of the groups for people by purpose (auditors, db-operators, break-glass)."
  value       = { for k, g in aws_iam_group.this : k => g.name }
}

output "reader_role_arns" {
  description = "ARNs of the application roles with read access (the secrets' policy and the auditor's readers)."
  value       = [for k, r in aws_iam_role.application : r.arn if var.application_roles[k].access == "read"]
}

output "rotator_role_arns" {
  description = "ARNs of the application roles with rotate access (the secrets' policy and the auditor's rotators)."
  value       = [for k, r in aws_iam_role.application : r.arn if var.application_roles[k].access == "rotate"]
}

output "db_operator_user_arns" {
  description = "IAM users in the db-operators group (the secrets' deny policy must except them: secret-rotation's operator_user_arns)."
  value       = var.create_groups ? var.db_operator_user_arns : []
}

output "break_glass_user_arns" {
  description = "IAM users in the break-glass group (secret-rotation's break_glass_user_arns)."
  value       = var.create_groups ? var.break_glass_user_arns : []
}

output "group_policy_names" {
  description = "Names of the groups' managed policies by part (auditors, auditors-2, ...): a fleet's group policy comes in parts of at most 12 secrets and 16 keys."
  value       = { for k, p in aws_iam_policy.group : k => p.name }
}
