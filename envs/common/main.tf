# One root per environment; dev, stage and prod share these files byte for byte and differ
# only in terraform.tfvars and backend.hcl (internal/tfcheck proves it).

locals {
  name = "rotaudit-${var.environment}"
  dist = "${path.root}/${var.dist_dir}"
  # Who reaches AWS APIs over the internet rather than through interface endpoints.
  https_egress_to_internet = {
    endpoints = []
    nat       = ["api", "rotator", "database"]
    public    = ["api"]
  }
  tags = merge(var.tags, {
    Project     = "rotaudit"
    Environment = var.environment
    ManagedBy   = "terraform"
  })
}

module "network" {
  source = "../../modules/network"

  name                           = local.name
  cidr_block                     = var.vpc_cidr
  availability_zones             = var.availability_zones
  private_subnet_cidrs           = [for i, _ in var.availability_zones : cidrsubnet(var.vpc_cidr, 8, i)]
  public_subnet_cidrs            = var.public_load_balancer || var.egress != "endpoints" ? [for i, _ in var.availability_zones : cidrsubnet(var.vpc_cidr, 8, 100 + i)] : []
  enable_secretsmanager_endpoint = var.enable_secretsmanager_endpoint
  enable_logs_endpoint           = var.enable_logs_endpoint
  enable_ecr_endpoints           = var.enable_ecr_endpoints
  enable_s3_endpoint             = var.enable_s3_endpoint
  enable_kms_endpoint            = var.enable_kms_endpoint
  admin_cidr_blocks              = var.admin_cidr_blocks
  flow_log_retention_days        = var.log_retention_days
  flow_log_traffic_type          = var.flow_log_traffic_type
  interface_endpoint_zones       = var.interface_endpoint_zones
  nat_gateway                    = var.egress == "nat"
  https_egress_to_internet       = local.https_egress_to_internet[var.egress]
  api_ingress_cidr_blocks        = var.api_ingress_cidr_blocks
}

module "ecr" {
  source = "../../modules/ecr"

  name         = local.name
  force_delete = var.ecr_force_delete
}

module "database" {
  source = "../../modules/database"

  name                          = local.name
  engine_mode                   = var.database_mode
  vpc_id                        = module.network.vpc_id
  subnet_ids                    = module.network.private_subnet_ids
  security_group_id             = module.network.security_group_ids["database"]
  engine_version                = var.postgres_version
  instance_class                = var.db_instance_class
  allocated_storage_gb          = var.db_allocated_storage_gb
  multi_az                      = var.db_multi_az
  deletion_protection           = var.db_deletion_protection
  backup_retention_days         = var.db_backup_retention_days
  skip_final_snapshot           = var.db_skip_final_snapshot
  log_retention_days            = var.log_retention_days
  ecs_cluster_arn               = module.api.cluster_arn
  ecs_image                     = "${module.ecr.repository_urls["postgres"]}:${var.postgres_image_tag}"
  ecs_master_secret_arn         = module.secret_rotation.admin_secret_arn
  ecs_master_secret_kms_key_arn = module.secret_rotation.admin_kms_key_arn
}

module "secret_rotation" {
  source = "../../modules/secret-rotation"

  name                   = local.name
  secret_name_prefix     = "rotaudit/${var.environment}"
  db_host                = module.database.host
  db_port                = module.database.port
  db_name                = module.database.db_name
  admin_username         = module.database.master_username
  admin_initial_password = module.database.master_password
  lambda_zip_path        = "${local.dist}/rotator.zip"
  subnet_ids             = module.network.private_subnet_ids
  security_group_ids     = [module.network.security_group_ids["rotator"]]
  rotation_strategy      = var.rotation_strategy
  rotation_days          = var.rotation_days
  rotation_window        = var.rotation_window
  db_ca_bundle           = var.db_ca_bundle
  db_allow_plaintext     = !module.database.tls_required
  recovery_window_days   = var.secret_recovery_window_days
  log_retention_days     = var.log_retention_days
}

module "api" {
  source = "../../modules/api-service"

  name                   = local.name
  vpc_id                 = module.network.vpc_id
  task_subnet_ids        = var.egress == "public" ? module.network.public_subnet_ids : module.network.private_subnet_ids
  assign_public_ip       = var.egress == "public"
  create_load_balancer   = var.api_load_balancer
  container_insights     = var.container_insights
  lb_subnet_ids          = var.public_load_balancer ? module.network.public_subnet_ids : module.network.private_subnet_ids
  internal               = !var.public_load_balancer
  lb_security_group_id   = module.network.security_group_ids["alb"]
  task_security_group_id = module.network.security_group_ids["api"]
  image                  = "${module.ecr.repository_urls["rates-api"]}:${var.api_image_tag}"
  ecr_repository_arn     = module.ecr.repository_arns["rates-api"]
  db_secret_arn          = module.secret_rotation.app_secret_arn
  db_secret_kms_key_arn  = module.secret_rotation.app_kms_key_arn
  cpu                    = var.api_cpu
  memory_mb              = var.api_memory_mb
  min_tasks              = var.api_min_tasks
  max_tasks              = var.api_max_tasks
  certificate_arn        = var.certificate_arn
  lb_deletion_protection = var.lb_deletion_protection
  log_retention_days     = var.log_retention_days
}

module "audit_trail" {
  source = "../../modules/audit-trail"

  name             = local.name
  object_lock_days = var.trail_object_lock_days
  expiration_days  = var.trail_expiration_days
  force_destroy    = var.trail_force_destroy
}

module "audit_alerts" {
  source = "../../modules/audit-alerts"
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  name                = local.name
  lambda_zip_path     = "${local.dist}/auditor.zip"
  watched_secret_arns = [module.secret_rotation.app_secret_arn, module.secret_rotation.admin_secret_arn]
  kms_key_arns        = [module.secret_rotation.app_kms_key_arn, module.secret_rotation.admin_kms_key_arn]
  reader_arns         = [module.api.task_role_arn]
  rotator_arns        = [module.secret_rotation.rotation_role_arn]
  deployer_arns       = var.deployer_arns
  trusted_networks    = [var.vpc_cidr]
  ecs_families        = ["${local.name}-rates-api", "${local.name}-postgres"]
  ecs_clusters        = [module.api.cluster_name]
  trail_bucket_name   = module.audit_trail.bucket_name
  trail_kms_key_arn   = module.audit_trail.kms_key_arn
  alert_subscriptions = var.alert_subscriptions
  log_retention_days  = var.log_retention_days
}

module "db_access_iam" {
  source = "../../modules/db-access-iam"

  name              = local.name
  app_secret_arn    = module.secret_rotation.app_secret_arn
  admin_secret_arn  = module.secret_rotation.admin_secret_arn
  app_kms_key_arn   = module.secret_rotation.app_kms_key_arn
  admin_kms_key_arn = module.secret_rotation.admin_kms_key_arn
  application_roles = var.application_roles
}
