output "api_url" {
  description = "Base URL of the rates API."
  value       = module.rotaudit.api.url
}

output "app_secret_arn" {
  description = "ARN of the application database secret (DB_SECRET_ID)."
  value       = module.rotaudit.secret_rotation.app_secret_arn
}

output "admin_secret_arn" {
  description = "ARN of the master database secret."
  value       = module.rotaudit.secret_rotation.admin_secret_arn
}

output "rotators" {
  description = "Rotator functions by key (strategy, then network and TLS group): name, ARN, role, log group and environment."
  value       = module.rotaudit.rotators
}

output "secret_rotator_names" {
  description = "Rotator function of each rotated secret (app, admin)."
  value       = module.rotaudit.api_secret_rotator_names
}

output "bootstrap" {
  description = "The database bootstrap function: name, ARN, role and environment."
  value       = module.rotaudit.secret_rotation.bootstrap
}

output "audit_lambda_name" {
  description = "Name of the audit Lambda."
  value       = module.rotaudit.audit_alerts.lambda_name
}

output "alert_topic_arn" {
  description = "ARN of the audit alert topic."
  value       = module.rotaudit.audit_alerts.alert_topic_arn
}

output "database_host" {
  description = "Host name of PostgreSQL."
  value       = module.rotaudit.db_host
}

output "ecr_repository_urls" {
  description = "ECR repositories to push the images to."
  value       = module.rotaudit.ecr.repository_urls
}

output "cloudtrail_bucket" {
  description = "Bucket of the CloudTrail log files."
  value       = module.rotaudit.audit_trail.bucket_name
}

output "audit_dlq_url" {
  description = "The audit's dead-letter queue: events the auditor could not process (rotaudit check fails while it holds any)."
  value       = module.rotaudit.audit_alerts.dlq_url
}

output "audit_state_table" {
  description = "The auditor's DynamoDB state table: the -table of `rotaudit audit backfill` and the --state-table of `rotaudit fleet`."
  value       = module.rotaudit.audit_alerts.state_table_name
}

output "backfill_queue_url" {
  description = "The backfill's FIFO queue, the -queue of `rotaudit audit backfill` (null unless backfill_enabled)."
  value       = module.rotaudit.audit_alerts.backfill_queue_url
}
