output "app_secret_arn" {
  description = "ARN of the application secret created in the emulator."
  value       = module.secret_rotation.app_secret_arn
}

output "rotation_lambda_name" {
  description = "Name of the rotation Lambda created in the emulator."
  value       = module.secret_rotation.rotation_lambda_name
}

output "state_table_name" {
  description = "Name of the audit state table."
  value       = module.audit_alerts.state_table_name
}

output "alert_topic_arn" {
  description = "ARN of the audit alert topic."
  value       = module.audit_alerts.alert_topic_arn
}
