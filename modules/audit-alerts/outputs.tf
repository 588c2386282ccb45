output "lambda_arn" {
  description = "ARN of the audit Lambda."
  value       = module.auditor.arn
}

output "lambda_name" {
  description = "Name of the audit Lambda."
  value       = module.auditor.function_name
}

output "state_table_name" {
  description = "Name of the DynamoDB state table (STATE_TABLE)."
  value       = aws_dynamodb_table.state.name
}

output "alert_topic_arn" {
  description = "ARN of the SNS alert topic (ALERT_TOPIC_ARN)."
  value       = aws_sns_topic.alerts.arn
}

output "dlq_url" {
  description = "URL of the dead-letter queue of failed audit events."
  value       = aws_sqs_queue.dlq.id
}

output "management_rule_arn" {
  description = "ARN of the management-events rule."
  value       = aws_cloudwatch_event_rule.this["management"].arn
}

output "iam_rule_arn" {
  description = "ARN of the IAM-events rule in us-east-1 (null when disabled)."
  value       = var.enable_iam_rule ? aws_cloudwatch_event_rule.iam[0].arn : null
}

output "kms_key_arn" {
  description = "ARN of the KMS key of the topic, queue and table."
  value       = module.key.arn
}

output "environment" {
  description = "The audit Lambda's exact environment (AUDIT_CONFIG holds the generated configuration document, gzipped and in base64)."
  value       = module.auditor.environment
}

output "audit_config" {
  description = "The generated configuration document (JSON) that AUDIT_CONFIG holds gzipped; null with audit_config_file."
  value       = var.audit_config_file == "" ? local.audit_config : null
}

output "rule_names" {
  description = "Names of the EventBridge rules that invoke the Lambda, by purpose: management, access, iam (us-east-1) and iam_forwarded (home region, when forwarding)."
  value = merge(
    { for k, r in aws_cloudwatch_event_rule.this : k => r.name },
    { for r in aws_cloudwatch_event_rule.iam : "iam" => r.name },
    { for r in aws_cloudwatch_event_rule.iam_home : "iam_forwarded" => r.name },
  )
}

output "deletion_protection" {
  description = "Whether the state table has deletion protection."
  value       = aws_dynamodb_table.state.deletion_protection_enabled
}

output "db_log_group_names" {
  description = "CloudWatch Logs groups of PostgreSQL's log subscribed to the auditor. The db_log_groups_managed ones exist once this is known: an RDS instance created elsewhere that references it is created after its export group, which RDS would otherwise create without retention or key."
  value       = concat([for g in aws_cloudwatch_log_group.db : g.name], var.db_log_group_names)
}

output "backfill_queue_url" {
  description = "URL of the backfill FIFO queue, the -queue of `rotaudit audit backfill` (null unless backfill_enabled)."
  value       = var.backfill_enabled ? aws_sqs_queue.backfill[0].id : null
}

output "backfill_dlq_url" {
  description = "URL of the backfill's dead-letter queue (null unless backfill_enabled)."
  value       = var.backfill_enabled ? aws_sqs_queue.backfill_dlq[0].id : null
}
