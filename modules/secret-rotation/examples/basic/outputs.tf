output "app_secret_arn" {
  description = "ARN of the application secret."
  value       = module.secret_rotation.app_secret_arn
}
