# Everything an end-to-end test needs to drive what Terraform made.

output "app_secret_arn" {
  description = "ARN of the application secret (DB_SECRET_ID of the API)."
  value       = module.rotaudit.secret_rotation.app_secret_arn
}

output "app_secret_name" {
  description = "Name of the application secret."
  value       = module.rotaudit.secret_rotation.app_secret_name
}

output "admin_secret_arn" {
  description = "ARN of the master secret (the stack's, not managed here)."
  value       = module.rotaudit.secret_rotation.admin_secret_arn
}

output "admin_secret_name" {
  description = "Name of the master secret."
  value       = var.admin_secret_name
}

output "rotation_strategies" {
  description = "Strategy each secret rotates with (app, admin)."
  value       = module.rotaudit.secret_rotation.rotation_strategies
}

output "rotators" {
  description = "Rotator functions by key (strategy, then network and TLS group), shared by the databases: name, ARN, role, log group and the exact environment."
  value       = module.rotaudit.rotators
}

output "secret_rotator_names" {
  description = "Rotator function of each rotated secret of the rates database (app, admin)."
  value       = module.rotaudit.api_secret_rotator_names
}

output "databases" {
  description = "Every database by key (rates and extra_databases): its app and master secrets (app_secret_arns: every app user's, by secret id app or app-<username>), the strategy of each rotated secret, its rotator by secret, and its bootstrap function (name, environment)."
  value = {
    for k, m in module.rotaudit.secret_rotations : k => {
      app_secret_arn       = m.app_secret_arn
      app_secret_arns      = merge({ app = m.app_secret_arn }, { for id, a in m.more_app_secrets : id => a.arn })
      admin_secret_arn     = m.admin_secret_arn
      rotation_strategies  = m.rotation_strategies
      secret_rotator_names = { for s, _ in m.rotation_strategies : s => module.rotaudit.secret_rotator_names["${k}/${s}"] }
      bootstrap            = m.bootstrap
    }
  }
}

output "bootstrap" {
  description = "The database bootstrap function: name, ARN, role, log group and the exact environment."
  value       = module.rotaudit.secret_rotation.bootstrap
}

output "secret_reader_arns" {
  description = "Principals exempted from each created secret's deny policy."
  value       = module.rotaudit.secret_rotation.secret_reader_arns
}

output "state_table_name" {
  description = "Name of the audit state table (STATE_TABLE)."
  value       = module.rotaudit.audit_alerts.state_table_name
}

output "alert_topic_arn" {
  description = "ARN of the audit alert topic (ALERT_TOPIC_ARN)."
  value       = module.rotaudit.audit_alerts.alert_topic_arn
}

output "audit_lambda_name" {
  description = "Name of the audit function."
  value       = module.rotaudit.audit_alerts.lambda_name
}

output "auditor_environment" {
  description = "The audit function's exact environment (AUDIT_CONFIG, STATE_TABLE, ALERT_TOPIC_ARN, AUDIT_CONFIG_FILE)."
  value       = module.rotaudit.audit_alerts.environment
}

output "event_rule_names" {
  description = "Names of the EventBridge rules of the audit function, by purpose."
  value       = module.rotaudit.audit_alerts.rule_names
}

output "trail_bucket_name" {
  description = "Bucket whose log files invoke the audit function."
  value       = module.rotaudit.audit_trail.bucket_name
}

output "alert_queue_url" {
  description = "URL of the SQS queue subscribed to the alert topic (null when create_alert_inbox is false)."
  value       = var.create_alert_inbox ? aws_sqs_queue.alert_inbox[0].id : null
}

output "audit_dlq_url" {
  description = "The audit's dead-letter queue: events the auditor could not process (rotaudit check fails while it holds any)."
  value       = module.rotaudit.audit_alerts.dlq_url
}

output "db_log_group_names" {
  description = "CloudWatch Logs groups of PostgreSQL's connection log subscribed to the auditor (db_log_group_name)."
  value       = module.rotaudit.audit_alerts.db_log_group_names
}
