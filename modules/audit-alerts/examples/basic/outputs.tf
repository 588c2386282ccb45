output "alert_topic_arn" {
  description = "ARN of the alert topic."
  value       = module.audit_alerts.alert_topic_arn
}
