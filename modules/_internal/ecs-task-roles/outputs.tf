output "execution_role_arn" {
  description = "ARN of the execution role (the task definition's execution_role_arn)."
  value       = aws_iam_role.execution.arn
}

output "task_role_arn" {
  description = "ARN of the task role (the task definition's task_role_arn)."
  value       = aws_iam_role.task.arn
}
