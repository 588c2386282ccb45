output "cluster_arn" {
  description = "ARN of the ECS cluster (the ecs database option can run in it too)."
  value       = aws_ecs_cluster.this.arn
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "Name of the ECS service of the rates API."
  value       = aws_ecs_service.this.name
}

output "lb_dns_name" {
  description = "DNS name of the load balancer."
  value       = aws_lb.this.dns_name
}

output "url" {
  description = "Base URL of the rates API."
  value       = "${local.https ? "https" : "http"}://${aws_lb.this.dns_name}"
}

output "task_role_arn" {
  description = "ARN of the task role (reads only the app secret)."
  value       = aws_iam_role.task.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the API."
  value       = aws_cloudwatch_log_group.this.name
}
