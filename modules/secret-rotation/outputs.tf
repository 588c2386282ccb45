output "app_secret_arn" {
  description = "ARN of the application secret (pass it to the API as DB_SECRET_ID)."
  value       = aws_secretsmanager_secret.app.arn
}

output "app_secret_name" {
  description = "Name of the application secret."
  value       = aws_secretsmanager_secret.app.name
}

output "admin_secret_arn" {
  description = "ARN of the master (admin) secret, named by the app secret's masterarn (created here or passed in)."
  value       = local.admin_secret_arn
}

output "admin_secret_name" {
  description = "Name of the master secret when this module created it (null for an existing one)."
  value       = var.create_admin_secret ? aws_secretsmanager_secret.admin[0].name : null
}

output "app_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the application secret."
  value       = module.key["app"].arn
}

output "admin_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the master secret (null: an existing secret on the AWS managed key)."
  value       = local.key_arns["admin"]
}

output "kms_key_arns" {
  description = "ARNs of the KMS keys of the secrets that are customer managed: app, admin and further applications' (the auditor's kms_keys)."
  value       = [for k in concat(["app", "admin"], keys(local.more_apps)) : local.key_arns[k] if local.has_key[k]]
}

output "more_app_secrets" {
  description = "Further applications' secrets by secret id (app-<username>, the last part of the name): arn, name, kms_key_arn, username and strategy."
  value = { for id, u in local.more_apps : id => {
    arn         = aws_secretsmanager_secret.more_app[id].arn
    name        = aws_secretsmanager_secret.more_app[id].name
    kms_key_arn = module.key[id].arn
    username    = u.username
    strategy    = u.strategy
  } }
}

output "alternating_pairs" {
  description = "Each alternating-users secret's two roles, [username, username_clone] (the auditor's db_logins.alternating_pairs)."
  value       = [for u in concat([{ username = var.app_username, strategy = var.app_rotation_strategy }], var.more_app_users) : [u.username, "${u.username}_clone"] if u.strategy == "alternating-users"]
}

output "rotation_strategies" {
  description = "Strategy each secret rotates with, by secret: app and (when rotated) admin."
  value       = local.rotations
}

output "rotators" {
  description = "The rotator functions by strategy: name, ARN, role ARN, log group and the exact environment Terraform gave the function (empty without create_rotation)."
  value       = { for s, f in module.rotator : s => f.summary }
}

output "secret_rotator_names" {
  description = "Name of the rotator function of each rotated secret (app, admin); empty without create_rotation."
  value       = { for k, s in local.own_rotations : k => module.rotator[s].function_name }
}

output "rotator_function_arns" {
  description = "ARNs of the rotator functions: whoever calls RotateSecret needs lambda:InvokeFunction on them (modules/db-access-iam rotator_function_arns)."
  value       = [for f in module.rotator : f.arn]
}

output "rotation_role_arns" {
  description = "ARNs of the rotator functions' execution roles (the auditor's rotators)."
  value       = [for f in module.rotator : f.role_arn]
}

output "bootstrap" {
  description = "The database bootstrap function: name, ARN, role ARN and its exact environment (null when create_bootstrap is false)."
  value = var.create_bootstrap ? {
    name        = module.bootstrap[0].function_name
    arn         = module.bootstrap[0].arn
    role_arn    = module.bootstrap[0].role_arn
    log_group   = module.bootstrap[0].log_group_name
    environment = module.bootstrap[0].environment
  } : null
}

output "bootstrap_role_arn" {
  description = "ARN of the bootstrap function's role (null without it); it writes the app secret, so the auditor counts it among the rotators."
  value       = var.create_bootstrap ? module.bootstrap[0].role_arn : null
}

output "secret_reader_arns" {
  description = "Principals exempted from each secret's deny policy, by secret (empty without create_secret_policy)."
  value       = var.create_secret_policy ? local.secret_readers : {}
}

output "app_usernames" {
  description = "Database roles the app secrets hold: app_username and more_app_users' usernames, each with its _clone under alternating users (the auditor's db_logins.users)."
  value       = flatten([for u in concat([{ username = var.app_username, strategy = var.app_rotation_strategy }], var.more_app_users) : u.strategy == "alternating-users" ? [u.username, "${u.username}_clone"] : [u.username]])
}
