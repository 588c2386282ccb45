output "lambda_arn" {
  description = "ARN of the audit Lambda."
  value       = aws_lambda_function.this.arn
}

output "lambda_name" {
  description = "Name of the audit Lambda."
  value       = aws_lambda_function.this.function_name
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
  value       = aws_cloudwatch_event_rule.management.arn
}

output "iam_rule_arn" {
  description = "ARN of the IAM-events rule in us-east-1 (null when disabled)."
  value       = var.enable_iam_rule ? aws_cloudwatch_event_rule.iam[0].arn : null
}

output "kms_key_arn" {
  description = "ARN of the KMS key of the topic, queue and table."
  value       = aws_kms_key.this.arn
}
