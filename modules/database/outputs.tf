output "host" {
  description = "Host name the API and the rotator connect to (RDS endpoint address, the Aurora cluster's writer endpoint, or the Cloud Map name of the ECS task)."
  value       = local.rds ? aws_db_instance.this[0].address : local.aurora ? aws_rds_cluster.this[0].endpoint : local.ecs_host
}

output "port" {
  description = "TCP port of PostgreSQL."
  value       = 5432
}

output "db_name" {
  description = "Name of the application database."
  value       = var.db_name
}

output "master_username" {
  description = "Master role name."
  value       = var.master_username
}

output "tls_required" {
  description = "Whether the server only accepts TLS (true for RDS and Aurora); the rotator's DB_ALLOW_PLAINTEXT should be its negation."
  value       = local.managed
}

output "kms_key_arn" {
  description = "KMS key ARN that encrypts the database storage."
  value       = local.kms_key_arn
}

output "rds_instance_arn" {
  description = "ARN of the RDS instance (null in aurora and ecs modes: see rds_cluster_arn)."
  value       = local.rds ? aws_db_instance.this[0].arn : null
}

output "identifier" {
  description = "RDS instance or Aurora cluster identifier, the auditor's databases entry (null in ecs mode)."
  value       = local.managed ? var.name : null
}

output "postgresql_log_group_name" {
  description = "CloudWatch Logs group carrying PostgreSQL's log with its connection lines (RDS or Aurora export, /aws/rds/instance|cluster/<name>/postgresql, or the ECS task's awslogs group), created by this module before the database writes to it: subscribe the auditor to it (audit-alerts db_log_group_names)."
  value       = local.managed ? aws_cloudwatch_log_group.rds["postgresql"].name : aws_cloudwatch_log_group.ecs[0].name
}

output "efs_file_system_id" {
  description = "ID of the EFS file system holding the data directory (null in rds and aurora modes)."
  value       = local.ecs ? aws_efs_file_system.this[0].id : null
}

output "ecs_execution_role_arn" {
  description = "ARN of the PostgreSQL task's execution role, which reads the master secret at first start (null in rds and aurora modes)."
  value       = local.ecs ? module.ecs_roles[0].execution_role_arn : null
}

output "kms_key_retained_on_destroy" {
  description = "Whether the module's KMS key outlives the database (retain_kms_key): terraform destroy then refuses to run until the key leaves the state (terraform state rm 'module.database.module.key[0]'). False when the key is passed in (kms_key_arn) or not kept."
  value       = var.kms_key_arn == null && local.retain_key
}

output "rds_cluster_arn" {
  description = "ARN of the Aurora cluster (null in rds and ecs modes)."
  value       = local.aurora ? aws_rds_cluster.this[0].arn : null
}

output "reader_endpoint" {
  description = "The Aurora cluster's reader endpoint, spread over its readers (null in rds and ecs modes)."
  value       = local.aurora ? aws_rds_cluster.this[0].reader_endpoint : null
}

output "aurora_instance_identifiers" {
  description = "Identifiers of the Aurora cluster's instances, the writer first at creation (empty in rds and ecs modes)."
  value       = aws_rds_cluster_instance.this[*].identifier
}
