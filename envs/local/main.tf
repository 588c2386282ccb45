# The local emulator (moto server or LocalStack on http://localhost:4566) gets the modules
# it can emulate. ECS (the API service and the ecs database option) and CloudTrail are off:
# LocalStack's free edition lacks them. PostgreSQL is the local stack's own server, so the
# database module is not used and the secrets point at it directly.

locals {
  name = "rotaudit-tflocal"
  dist = "${path.root}/${var.dist_dir}"
}

module "network" {
  source = "../../modules/network"

  name                           = local.name
  availability_zones             = ["${var.region}a", "${var.region}b"]
  private_subnet_cidrs           = ["10.40.0.0/24", "10.40.1.0/24"]
  enable_secretsmanager_endpoint = false
  enable_logs_endpoint           = false
  enable_ecr_endpoints           = false
  enable_s3_endpoint             = false
  flow_log_retention_days        = 1
}

module "ecr" {
  source = "../../modules/ecr"

  name         = local.name
  force_delete = true
}

module "secret_rotation" {
  source = "../../modules/secret-rotation"

  name                     = local.name
  secret_name_prefix       = "rotaudit/tflocal"
  db_host                  = var.db_host
  db_port                  = var.db_port
  admin_initial_password   = var.admin_initial_password
  lambda_zip_path          = "${local.dist}/rotator.zip"
  db_allow_plaintext       = true
  secrets_manager_endpoint = var.endpoint
  recovery_window_days     = 0
  log_retention_days       = 1
}

module "audit_trail" {
  source = "../../modules/audit-trail"

  name          = local.name
  bucket_name   = "${local.name}-cloudtrail"
  create_trail  = false
  force_destroy = true
}

module "audit_alerts" {
  source = "../../modules/audit-alerts"
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  name                  = local.name
  lambda_zip_path       = "${local.dist}/auditor.zip"
  watched_secret_arns   = [module.secret_rotation.app_secret_arn, module.secret_rotation.admin_secret_arn]
  kms_key_arns          = [module.secret_rotation.app_kms_key_arn, module.secret_rotation.admin_kms_key_arn]
  rotator_arns          = [module.secret_rotation.rotation_role_arn]
  trail_bucket_name     = module.audit_trail.bucket_name
  trail_kms_key_arn     = module.audit_trail.kms_key_arn
  management_rule_state = var.management_rule_state
  log_retention_days    = 1
}

module "db_access_iam" {
  source = "../../modules/db-access-iam"

  name              = local.name
  app_secret_arn    = module.secret_rotation.app_secret_arn
  admin_secret_arn  = module.secret_rotation.admin_secret_arn
  app_kms_key_arn   = module.secret_rotation.app_kms_key_arn
  admin_kms_key_arn = module.secret_rotation.admin_kms_key_arn
}
