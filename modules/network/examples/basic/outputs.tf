output "vpc_id" {
  description = "ID of the example VPC."
  value       = module.network.vpc_id
}

output "security_group_ids" {
  description = "Security groups by role."
  value       = module.network.security_group_ids
}
