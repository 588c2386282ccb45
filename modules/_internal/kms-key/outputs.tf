output "arn" {
  description = "ARN of the key."
  value       = aws_kms_key.this.arn
}

output "key_id" {
  description = "ID of the key."
  value       = aws_kms_key.this.key_id
}

output "prevent_destroy" {
  description = "Whether a guard refuses every plan that destroys or replaces the key."
  value       = length(terraform_data.keep_key_on_destroy) > 0
}
