output "trail_arn" {
  description = "ARN of the example trail."
  value       = module.audit_trail.trail_arn
}

output "bucket_name" {
  description = "Bucket of the log files."
  value       = module.audit_trail.bucket_name
}
