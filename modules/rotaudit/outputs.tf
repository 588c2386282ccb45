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
  description = "The database module's outputs (host, port, identifier, tls_required, postgresql_log_group_name, ...) of api_database; null when it is external."
  value       = lookup(merge(module.database, module.database_ecs), var.api_database, null)
}

output "databases" {
  description = "The database module's outputs by database key (only the databases made here: rds, aurora, ecs)."
  value       = merge(module.database, module.database_ecs)
}

output "db_host" {
  description = "Host name of api_database's PostgreSQL, made here or external."
  value       = local.db[var.api_database].host
}

output "secret_rotation" {
  description = "The secret-rotation module's outputs (app_secret_arn, admin_secret_arn, bootstrap, rotation_strategies, secret_rotator_names, ...) of api_database."
  value       = module.secret_rotation[var.api_database]
}

output "secret_rotations" {
  description = "The secret-rotation module's outputs by database key: each database's secrets, bootstrap and rotation strategies."
  value       = module.secret_rotation
}

output "rotators" {
  description = "The rotator functions the databases share, by key (the strategy, then the network and TLS group: single-user, alternating-users-net1a2b3c, single-user-plaintext): name, ARN, role ARN, log group and the exact environment Terraform gave the function."
  value       = { for s, f in module.rotator : s => f.summary }
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

output "secret_rotator_names" {
  description = "Name of the shared rotator function of each rotated secret, keyed \"<database>/app\", \"<database>/app-<username>\" (a further app user) and \"<database>/admin\"."
  value       = { for id, s in local.rotated : id => module.rotator[s].function_name }
}

output "api_secret_rotator_names" {
  description = "Name of the rotator function of each rotated secret of api_database, keyed app, app-<username> (a further app user) and admin."
  value       = { for id, key in local.rotated : split("/", id)[1] => module.rotator[key].function_name if split("/", id)[0] == var.api_database }
}
