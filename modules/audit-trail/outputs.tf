output "trail_arn" {
  description = "ARN of the trail (null when create_trail is false)."
  value       = var.create_trail ? aws_cloudtrail.this[0].arn : null
}

output "bucket_name" {
  description = "Name of the log bucket (the audit alerts module subscribes to its ObjectCreated events)."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the log bucket."
  value       = aws_s3_bucket.this.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the log files (readers need kms:Decrypt on it)."
  value       = module.key.arn
}
