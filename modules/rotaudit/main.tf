# The whole deployment, wired once: every root (envs/dev, stage and prod through
# envs/common, and envs/local on the emulator) calls this module with its switches, so the
# wiring the end-to-end tests apply is the wiring AWS gets, the security-critical
# allow-lists (who may read and rotate the secrets) included. Roots keep only their
# providers, state backend and the values that differ.

locals {
  name     = "rotaudit-${var.environment}"
  dist     = "${path.root}/${var.dist_dir}"
  external = var.database_mode == "external"
  # Who reaches AWS APIs over the internet rather than through interface endpoints.
  https_egress_to_internet = {
    endpoints = []
    nat       = ["api", "rotator", "database"]
    public    = ["api"]
  }
}

module "network" {
  source = "../network"

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
  # Fargate tasks in the private subnets: the ECS database always, the API unless it has a
  # public address. Without a NAT the module adds the endpoints they pull images through.
  private_tasks = var.database_mode == "ecs" || var.api_enabled && var.egress != "public"
  # The load balancer's group exists only with the load balancer.
  create_alb_security_group = var.api_enabled && var.api_load_balancer
  https_egress_to_internet  = local.https_egress_to_internet[var.egress]
  api_ingress_cidr_blocks   = var.api_ingress_cidr_blocks
}

module "ecr" {
  source = "../ecr"
  count  = var.create_ecr ? 1 : 0

  name         = local.name
  force_delete = var.ecr_force_delete
}

module "database" {
  source = "../database"
  count  = local.external ? 0 : 1

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
  master_password_wo            = var.master_password_wo
  backup_retention_days         = var.db_backup_retention_days
  skip_final_snapshot           = var.db_skip_final_snapshot
  log_retention_days            = var.log_retention_days
  ecs_cluster_arn               = var.api_enabled ? module.api[0].cluster_arn : null
  ecs_image                     = var.create_ecr ? "${module.ecr[0].repository_urls["postgres"]}:${var.postgres_image_tag}" : null
  ecs_master_secret_arn         = module.secret_rotation.admin_secret_arn
  ecs_master_secret_kms_key_arn = module.secret_rotation.admin_kms_key_arn
}

locals {
  # The database as the secrets name it: the one made here, or the external server. One
  # local each: Terraform follows a reference to a whole object into all of its parts.
  db_host        = local.external ? var.external_database.host : module.database[0].host
  db_port        = local.external ? var.external_database.port : module.database[0].port
  db_name        = local.external ? var.external_database.db_name : module.database[0].db_name
  db_tls         = local.external ? var.external_database.tls : module.database[0].tls_required
  db_identifier  = local.external ? null : module.database[0].identifier
  db_log_group   = local.external ? null : module.database[0].postgresql_log_group_name
  db_master_user = local.external ? null : module.database[0].master_username
  db_ecs_role    = local.external ? null : module.database[0].ecs_execution_role_arn
}

module "secret_rotation" {
  source = "../secret-rotation"

  name                  = local.name
  secret_name_prefix    = "rotaudit/${var.environment}"
  db_host               = local.db_host
  db_port               = local.db_port
  db_name               = local.db_name
  app_username          = var.app_username
  admin_username        = coalesce(local.db_master_user, "rotaudit_admin")
  admin_password_wo     = local.external ? null : var.master_password_wo
  create_admin_secret   = !local.external
  admin_secret_arn      = local.external ? var.external_database.admin_secret_arn : null
  admin_kms_key_arn     = local.external ? var.external_database.admin_kms_key_arn : null
  lambda_zip_path       = "${local.dist}/rotator.zip"
  bootstrap_zip_path    = "${local.dist}/dbbootstrap.zip"
  invoke_bootstrap      = var.invoke_bootstrap
  subnet_ids            = var.lambdas_in_vpc ? module.network.private_subnet_ids : []
  security_group_ids    = var.lambdas_in_vpc ? [module.network.security_group_ids["rotator"]] : []
  app_rotation_strategy = var.app_rotation_strategy
  rotation_days         = var.rotation_days
  rotation_window       = var.rotation_window
  db_ca_bundle          = var.db_ca_bundle
  db_allow_plaintext    = !local.db_tls
  db_ssl                = local.db_tls
  recovery_window_days  = var.secret_recovery_window_days
  log_retention_days    = var.log_retention_days
  app_reader_arns       = local.app_readers
  admin_reader_arns     = compact([local.db_ecs_role])
  secret_rotator_arns   = module.db_access_iam.rotator_role_arns
  break_glass_role_arns = var.break_glass_role_arns
  break_glass_user_arns = module.db_access_iam.break_glass_user_arns
  operator_user_arns    = module.db_access_iam.db_operator_user_arns
  deployer_arns         = var.deployer_arns

  kms_deletion_window_days = var.kms_deletion_window_days
  secrets_manager_endpoint = var.secrets_manager_endpoint
}

locals {
  # One list of who may read the secrets, for the secrets' deny policy and for the
  # auditor's allow-lists alike. Break-glass roles may read but are left off the auditor's
  # lists on purpose: every use of them is reported (RA-01).
  app_readers = concat(var.api_enabled ? [module.api[0].task_role_arn] : [], var.app_reader_arns, module.db_access_iam.reader_role_arns)
  rotators = concat(
    module.secret_rotation.rotation_role_arns,
    compact([module.secret_rotation.bootstrap_role_arn]),
    module.db_access_iam.rotator_role_arns,
  )
}

module "api" {
  source = "../api-service"
  count  = var.api_enabled ? 1 : 0

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
  image                  = "${module.ecr[0].repository_urls["rates-api"]}:${var.api_image_tag}"
  ecr_repository_arn     = module.ecr[0].repository_arns["rates-api"]
  db_secret_arn          = module.secret_rotation.app_secret_arn
  db_secret_kms_key_arn  = module.secret_rotation.app_kms_key_arn
  cpu                    = var.api_cpu
  memory_mb              = var.api_memory_mb
  min_tasks              = var.api_min_tasks
  max_tasks              = var.api_max_tasks
  certificate_arn        = var.certificate_arn
  lb_deletion_protection = var.lb_deletion_protection
  # Every request to the API, kept where a security review can read it.
  create_access_logs_bucket  = var.lb_access_logs
  access_logs_retention_days = var.lb_access_logs_days
  log_retention_days         = var.log_retention_days
}

module "audit_trail" {
  source = "../audit-trail"

  name             = local.name
  create_trail     = var.create_trail
  object_lock_days = var.trail_object_lock_days
  expiration_days  = var.trail_expiration_days
  force_destroy    = var.trail_force_destroy

  transition_to_glacier_days = var.trail_transition_to_glacier_days
}

module "audit_alerts" {
  source = "../audit-alerts"
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  name                = local.name
  lambda_zip_path     = "${local.dist}/auditor.zip"
  watched_secret_arns = [module.secret_rotation.app_secret_arn, module.secret_rotation.admin_secret_arn]
  kms_key_arns        = module.secret_rotation.kms_key_arns
  reader_arns         = local.app_readers
  rotator_arns        = local.rotators
  deployer_arns       = var.deployer_arns
  trusted_networks    = [var.vpc_cidr]
  ecs_families        = var.api_enabled ? ["${local.name}-rates-api", "${local.name}-postgres"] : []
  ecs_clusters        = var.api_enabled ? [module.api[0].cluster_name] : []
  # Both images come from this deployment's repositories, by tag or by digest.
  ecs_registries = var.create_ecr ? flatten([for u in values(module.ecr[0].repository_urls) : ["${u}:", "${u}@"]]) : []
  trails         = var.create_trail ? [{ arn = module.audit_trail.trail_arn, bucket = module.audit_trail.bucket_name }] : []
  databases      = compact([local.db_identifier])
  # RA-13: the readers and rotators reach Secrets Manager through its endpoint, when there is one.
  vpc_endpoint_ids = [for k, id in module.network.vpc_endpoint_ids : id if k == "secretsmanager"]
  # The DB-xx rules read PostgreSQL's connection log: the database module's group (created
  # before the database writes to it), or, for an external server, a group made here that
  # its lines are put into.
  db_log_group_names    = compact([local.db_log_group])
  db_log_groups_managed = local.external && var.db_log_group_name != "" ? [var.db_log_group_name] : []
  db_log_retention_days = var.log_retention_days
  db_logins = {
    users             = module.secret_rotation.app_usernames
    admin_users       = compact([local.db_master_user])
    ignore_users      = var.database_mode == "rds" ? ["rdsadmin"] : []
    client_networks   = coalesce(var.db_client_networks, [var.vpc_cidr])
    alternating_pairs = length(module.secret_rotation.app_usernames) == 2 ? [module.secret_rotation.app_usernames] : []
  }
  # Off: EventBridge delivers the events live; see var.s3_backfill.
  s3_backfill           = var.s3_backfill
  trail_bucket_name     = module.audit_trail.bucket_name
  trail_kms_key_arn     = module.audit_trail.kms_key_arn
  alert_subscriptions   = var.alert_subscriptions
  management_rule_state = var.management_rule_state
  log_retention_days    = var.log_retention_days
  deletion_protection   = var.audit_table_deletion_protection
}

module "db_access_iam" {
  source = "../db-access-iam"

  name              = local.name
  app_secret_arn    = module.secret_rotation.app_secret_arn
  admin_secret_arn  = module.secret_rotation.admin_secret_arn
  app_kms_key_arn   = module.secret_rotation.app_kms_key_arn
  admin_kms_key_arn = module.secret_rotation.admin_kms_key_arn
  application_roles = var.application_roles
  # Operators and rotate roles call RotateSecret, which invokes the rotator as them.
  rotator_function_arns = module.secret_rotation.rotator_function_arns
  # The people in the groups; secret-rotation excepts the same users from its deny.
  db_operator_user_arns = var.db_operator_user_arns
  break_glass_user_arns = var.break_glass_user_arns
}
