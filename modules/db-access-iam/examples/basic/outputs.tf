output "group_names" {
  description = "Groups for people."
  value       = module.db_access_iam.group_names
}

output "application_role_arns" {
  description = "Application roles."
  value       = module.db_access_iam.application_role_arns
}
