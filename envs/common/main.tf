# One root per environment; dev, stage and prod share these files byte for byte and differ
# only in terraform.tfvars and backend.hcl (internal/tfcheck proves it). The deployment
# itself is modules/rotaudit, which envs/local calls too.

locals {
  tags = merge(var.tags, {
    Project     = "rotaudit"
    Environment = var.environment
    ManagedBy   = "terraform"
  })
}

# The master password exists only while Terraform runs (Secrets Manager's
# GetRandomPassword, an ephemeral value): the database receives it write-only and the admin
# secret is seeded with it write-only, so it is in neither the plan nor the state.
# Write-only arguments are only sent when their *_wo_version changes, so the value of the
# first apply is the one both keep; rotation changes both afterwards.
ephemeral "aws_secretsmanager_random_password" "master" {
  count    = var.generate_master_password ? 1 : 0
  provider = aws.ephemeral

  password_length    = 32
  exclude_characters = "/@\"'\\ :%?#&" # RDS refuses / @ " and space; the rest keeps URLs simple
}

module "rotaudit" {
  source = "../../modules/rotaudit"
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  # Without generation (plan tests only) an empty value keeps the plan whole; AWS would
  # refuse it at apply.
  master_password_wo = var.generate_master_password ? ephemeral.aws_secretsmanager_random_password.master[0].random_password : ""

  environment                      = var.environment
  dist_dir                         = var.dist_dir
  vpc_cidr                         = var.vpc_cidr
  availability_zones               = var.availability_zones
  public_load_balancer             = var.public_load_balancer
  enable_secretsmanager_endpoint   = var.enable_secretsmanager_endpoint
  enable_logs_endpoint             = var.enable_logs_endpoint
  enable_ecr_endpoints             = var.enable_ecr_endpoints
  enable_s3_endpoint               = var.enable_s3_endpoint
  enable_kms_endpoint              = var.enable_kms_endpoint
  admin_cidr_blocks                = var.admin_cidr_blocks
  database_mode                    = var.database_mode
  postgres_version                 = var.postgres_version
  postgres_image_tag               = var.postgres_image_tag
  db_instance_class                = var.db_instance_class
  db_allocated_storage_gb          = var.db_allocated_storage_gb
  db_multi_az                      = var.db_multi_az
  db_deletion_protection           = var.db_deletion_protection
  db_backup_retention_days         = var.db_backup_retention_days
  db_skip_final_snapshot           = var.db_skip_final_snapshot
  db_ca_bundle                     = var.db_ca_bundle
  api_image_tag                    = var.api_image_tag
  api_cpu                          = var.api_cpu
  api_memory_mb                    = var.api_memory_mb
  api_min_tasks                    = var.api_min_tasks
  api_max_tasks                    = var.api_max_tasks
  certificate_arn                  = var.certificate_arn
  lb_access_logs                   = var.lb_access_logs
  lb_access_logs_days              = var.lb_access_logs_days
  lb_deletion_protection           = var.lb_deletion_protection
  ecr_force_delete                 = var.ecr_force_delete
  app_rotation_strategy            = var.app_rotation_strategy
  invoke_bootstrap                 = var.invoke_bootstrap
  break_glass_role_arns            = var.break_glass_role_arns
  db_operator_user_arns            = var.db_operator_user_arns
  break_glass_user_arns            = var.break_glass_user_arns
  audit_table_deletion_protection  = var.audit_table_deletion_protection
  rotation_days                    = var.rotation_days
  rotation_window                  = var.rotation_window
  secret_recovery_window_days      = var.secret_recovery_window_days
  log_retention_days               = var.log_retention_days
  trail_object_lock_days           = var.trail_object_lock_days
  trail_expiration_days            = var.trail_expiration_days
  trail_transition_to_glacier_days = var.trail_transition_to_glacier_days
  trail_force_destroy              = var.trail_force_destroy
  alert_subscriptions              = var.alert_subscriptions
  deployer_arns                    = var.deployer_arns
  application_roles                = var.application_roles
  egress                           = var.egress
  interface_endpoint_zones         = var.interface_endpoint_zones
  api_load_balancer                = var.api_load_balancer
  api_ingress_cidr_blocks          = var.api_ingress_cidr_blocks
  container_insights               = var.container_insights
  flow_log_traffic_type            = var.flow_log_traffic_type
  s3_backfill                      = var.s3_backfill
  backfill_enabled                 = var.backfill_enabled
  backfill_max_concurrency         = var.backfill_max_concurrency
}
