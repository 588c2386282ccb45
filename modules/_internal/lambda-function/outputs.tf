output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "arn" {
  description = "ARN of the function."
  value       = aws_lambda_function.this.arn
}

output "source_code_hash" {
  description = "Hash of the deployed zip (a trigger for re-running the function when the code changes)."
  value       = aws_lambda_function.this.source_code_hash
}

output "role_arn" {
  description = "ARN of the function's IAM role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "environment" {
  description = "The function's exact environment variables."
  value       = aws_lambda_function.this.environment[0].variables
}

output "subnet_ids" {
  description = "Subnets the function runs in (empty outside a VPC)."
  value       = flatten(aws_lambda_function.this.vpc_config[*].subnet_ids)
}

output "tracing_mode" {
  description = "The function's X-Ray tracing mode (Active or PassThrough)."
  value       = aws_lambda_function.this.tracing_config[0].mode
}
