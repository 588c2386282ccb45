output "repository_urls" {
  description = "Repository URLs by short name (push and pull images with these)."
  value       = { for k, r in aws_ecr_repository.this : k => r.repository_url }
}

output "repository_arns" {
  description = "Repository ARNs by short name (grant pulls on these)."
  value       = { for k, r in aws_ecr_repository.this : k => r.arn }
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the repositories."
  value       = local.kms_key_arn
}
