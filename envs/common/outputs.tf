output "api_url" {
  description = "Base URL of the rates API."
  value       = module.api.url
}

output "app_secret_arn" {
  description = "ARN of the application database secret (DB_SECRET_ID)."
  value       = module.secret_rotation.app_secret_arn
}

output "admin_secret_arn" {
  description = "ARN of the master database secret."
  value       = module.secret_rotation.admin_secret_arn
}

output "rotation_lambda_name" {
  description = "Name of the rotation Lambda."
  value       = module.secret_rotation.rotation_lambda_name
}

output "audit_lambda_name" {
  description = "Name of the audit Lambda."
  value       = module.audit_alerts.lambda_name
}

output "alert_topic_arn" {
  description = "ARN of the audit alert topic."
  value       = module.audit_alerts.alert_topic_arn
}

output "database_host" {
  description = "Host name of PostgreSQL."
  value       = module.database.host
}

output "ecr_repository_urls" {
  description = "ECR repositories to push the images to."
  value       = module.ecr.repository_urls
}

output "cloudtrail_bucket" {
  description = "Bucket of the CloudTrail log files."
  value       = module.audit_trail.bucket_name
}
