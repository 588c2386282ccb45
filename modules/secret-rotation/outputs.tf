output "app_secret_arn" {
  description = "ARN of the application secret (pass it to the API as DB_SECRET_ID)."
  value       = aws_secretsmanager_secret.app.arn
}

output "app_secret_name" {
  description = "Name of the application secret."
  value       = aws_secretsmanager_secret.app.name
}

output "admin_secret_arn" {
  description = "ARN of the master (admin) secret, named by the app secret's masterarn."
  value       = aws_secretsmanager_secret.admin.arn
}

output "app_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the application secret."
  value       = aws_kms_key.this["app"].arn
}

output "admin_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the master secret."
  value       = aws_kms_key.this["admin"].arn
}

output "rotation_lambda_arn" {
  description = "ARN of the rotation Lambda."
  value       = aws_lambda_function.this.arn
}

output "rotation_lambda_name" {
  description = "Name of the rotation Lambda."
  value       = aws_lambda_function.this.function_name
}

output "rotation_role_arn" {
  description = "ARN of the rotation Lambda's execution role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the rotation Lambda."
  value       = aws_cloudwatch_log_group.this.name
}
