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
  description = "DNS name of the load balancer (null without one)."
  value       = try(aws_lb.this[0].dns_name, null)
}

output "url" {
  description = "Base URL of the rates API (null without a load balancer: the tasks are reached at their own addresses, port 3000)."
  value       = var.create_load_balancer ? "${local.https ? "https" : "http"}://${aws_lb.this[0].dns_name}" : null
}

output "task_role_arn" {
  description = "ARN of the task role (reads only the app secret)."
  value       = module.roles.task_role_arn
}

output "log_group_name" {
  description = "CloudWatch log group of the API."
  value       = aws_cloudwatch_log_group.this.name
}

output "access_logs_bucket" {
  description = "Bucket the load balancer writes its access logs to (null when it keeps none)."
  value       = var.create_load_balancer ? local.log_bucket : null
}
