# Each part's outputs whole, so a root (and its plan tests) reads what it needs without this
# module repeating every one.

output "network" {
  description = "The network module's outputs (vpc_id, private_subnet_ids, security_group_ids, vpc_endpoint_ids, ...)."
  value       = module.network
}

output "ecr" {
  description = "The ECR module's outputs (repository_urls, repository_arns); null when create_ecr is false."
  value       = one(module.ecr)
}

output "database" {
  description = "The database module's outputs (host, port, identifier, tls_required, postgresql_log_group_name, ...); null with database_mode external."
  value       = one(module.database)
}

output "db_host" {
  description = "Host name of PostgreSQL, made here or external."
  value       = local.db_host
}

output "secret_rotation" {
  description = "The secret-rotation module's outputs (app_secret_arn, admin_secret_arn, rotators, bootstrap, rotation_strategies, ...)."
  value       = module.secret_rotation
}

output "api" {
  description = "The API service's outputs (url, cluster_name, task_role_arn, ...); null when api_enabled is false."
  value       = one(module.api)
}

output "audit_trail" {
  description = "The audit trail module's outputs (bucket_name, trail_arn, kms_key_arn)."
  value       = module.audit_trail
}

output "audit_alerts" {
  description = "The audit module's outputs (lambda_name, alert_topic_arn, dlq_url, state_table_name, environment, rule_names, ...)."
  value       = module.audit_alerts
}

output "db_access_iam" {
  description = "The IAM roles and groups for database access (reader_role_arns, rotator_role_arns, ...)."
  value       = module.db_access_iam
}

output "app_reader_arns" {
  description = "Who may read the app secret: the list both the secrets' deny policy and the auditor's allow-list are made from."
  value       = local.app_readers
}

output "rotator_arns" {
  description = "Who may rotate the secrets: the rotators, the bootstrap and the rotate roles, as the auditor's allow-list has them."
  value       = local.rotators
}
