output "function_name" {
  description = "Name of the rotator function."
  value       = module.function.function_name
}

output "arn" {
  description = "ARN of the rotator function (a secret's rotation_lambda_arn)."
  value       = module.function.arn

  # The rotator refuses ROTATION_STRATEGY=alternating-users without MASTER_SECRET_ARNS
  # (internal/rotation/config.go): fail the plan, not the first rotation. (Here rather than
  # on the policy document: a condition there makes Terraform read it only during apply.)
  precondition {
    condition     = (var.strategy == "alternating-users") == (length(var.master_secret_arns) > 0)
    error_message = "master_secret_arns: an alternating-users rotator needs the masters it acts with; a single-user rotator reads none."
  }
}

output "role_arn" {
  description = "ARN of the rotator's IAM role."
  value       = module.function.role_arn
}

output "log_group_name" {
  description = "Name of the rotator's log group."
  value       = module.function.log_group_name
}

output "environment" {
  description = "The rotator's exact environment variables."
  value       = module.function.environment
}

output "subnet_ids" {
  description = "Subnets the rotator runs in (empty outside a VPC)."
  value       = module.function.subnet_ids
}

output "summary" {
  description = "The rotator as the calling modules' rotators outputs show it: name, ARN, role ARN, log group and exact environment."
  value = {
    name        = module.function.function_name
    arn         = module.function.arn
    role_arn    = module.function.role_arn
    log_group   = module.function.log_group_name
    environment = module.function.environment
  }
}
