# The whole deployment, wired once: every root (envs/dev, stage and prod through
# envs/common, and envs/local on the emulator) calls this module with its switches, so the
# wiring the end-to-end tests apply is the wiring AWS gets, the security-critical
# allow-lists (who may read and rotate the secrets) included. Roots keep only their
# providers, state backend and the values that differ.

locals {
  name = "rotaudit-${var.environment}"
  dist = "${path.root}/${var.dist_dir}"
  # The databases: the map, or one database "rates" from the single-database variables
  # (dev, stage and prod describe one), so their resources keep their addresses' meaning.
  default_database = "rates"
  databases = var.databases != null ? var.databases : {
    (local.default_database) = {
      mode     = var.database_mode
      external = var.database_mode == "external" ? var.external_database : null
      app_users = [{
        username          = var.app_username
        strategy          = var.app_rotation_strategy
        rotation_days     = var.rotation_days
        rotation_schedule = null
        reader_arns       = []
      }]
      rotate_master         = true
      instance_class        = null
      allocated_storage_gb  = null
      multi_az              = null
      aurora_instance_count = null
      log_group_name        = var.db_log_group_name
      client_networks       = var.db_client_networks
      network               = null
    }
  }
  # Names: the default database keeps a single-database deployment's, another adds its key.
  db_names      = { for k, d in local.databases : k => k == local.default_database ? local.name : "${local.name}-${k}" }
  secret_prefix = { for k, d in local.databases : k => k == local.default_database ? "rotaudit/${var.environment}" : "rotaudit/${var.environment}/${k}" }
  app_user      = { for k, d in local.databases : k => d.app_users[0] }
  # Further users of each database, keyed by their secret's id "app-<username>" (the first
  # user keeps the id "app" and a single-user deployment's names).
  more_app_users = { for k, d in local.databases : k => { for u in slice(d.app_users, 1, length(d.app_users)) : "app-${u.username}" => u } }
  # Servers on the RDS engine (an instance or an Aurora cluster): TLS forced, rdsadmin present.
  rds_engine = { for k, d in local.databases : k => contains(["rds", "aurora"], d.mode) }
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
  private_tasks = anytrue([for d in values(local.databases) : d.mode == "ecs"]) || var.api_enabled && var.egress != "public"
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

# The databases made here: RDS instances and Aurora clusters, and PostgreSQL on ECS in a call
# of its own. The
# ECS task reads its master secret from secret_rotation, which must not need this call's
# outputs in turn (Terraform orders for_each module calls as wholes): its secrets' host is
# the task's Cloud Map name, written out below.
module "database" {
  source   = "../database"
  for_each = { for k, d in local.databases : k => d if local.rds_engine[k] }

  name              = local.db_names[each.key]
  engine_mode       = each.value.mode
  vpc_id            = module.network.vpc_id
  subnet_ids        = module.network.private_subnet_ids
  security_group_id = module.network.security_group_ids["database"]
  engine_version    = var.postgres_version
  # Aurora PostgreSQL has no micro or small class: a cluster without a class of its own
  # takes db_instance_class when Aurora runs it, db.t4g.medium (its smallest) otherwise.
  instance_class        = coalesce(each.value.instance_class, each.value.mode == "aurora" && can(regex("^db\\.t[0-9]g?\\.(micro|small)$", var.db_instance_class)) ? "db.t4g.medium" : var.db_instance_class)
  aurora_instance_count = each.value.aurora_instance_count
  allocated_storage_gb  = coalesce(each.value.allocated_storage_gb, var.db_allocated_storage_gb)
  multi_az              = coalesce(each.value.multi_az, var.db_multi_az)
  deletion_protection   = var.db_deletion_protection
  master_password_wo    = var.master_password_wo
  backup_retention_days = var.db_backup_retention_days
  skip_final_snapshot   = var.db_skip_final_snapshot
  log_retention_days    = var.log_retention_days
}

module "database_ecs" {
  source   = "../database"
  for_each = { for k, d in local.databases : k => d if d.mode == "ecs" }

  name                          = local.db_names[each.key]
  engine_mode                   = "ecs"
  vpc_id                        = module.network.vpc_id
  subnet_ids                    = module.network.private_subnet_ids
  security_group_id             = module.network.security_group_ids["database"]
  engine_version                = var.postgres_version
  deletion_protection           = var.db_deletion_protection
  backup_retention_days         = var.db_backup_retention_days
  skip_final_snapshot           = var.db_skip_final_snapshot
  log_retention_days            = var.log_retention_days
  ecs_cluster_arn               = var.api_enabled ? module.api[0].cluster_arn : null
  ecs_image                     = var.create_ecr ? "${module.ecr[0].repository_urls["postgres"]}:${var.postgres_image_tag}" : null
  ecs_master_secret_arn         = module.secret_rotation[each.key].admin_secret_arn
  ecs_master_secret_kms_key_arn = module.secret_rotation[each.key].admin_kms_key_arn
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # Each database as its secrets name it: the RDS instance or the Aurora cluster's writer
  # endpoint, the ECS task (modules/database's
  # defaults: Cloud Map name, port 5432, database rates, master rotaudit_admin, no TLS), or
  # the external server.
  db = {
    for k, d in local.databases : k => {
      host        = d.mode == "external" ? d.external.host : d.mode == "ecs" ? "postgres.${local.db_names[k]}.internal" : module.database[k].host
      port        = d.mode == "external" ? d.external.port : d.mode == "ecs" ? 5432 : module.database[k].port
      db_name     = d.mode == "external" ? d.external.db_name : d.mode == "ecs" ? "rates" : module.database[k].db_name
      tls         = d.mode == "external" ? d.external.tls : local.rds_engine[k]
      master_user = d.mode == "external" ? null : d.mode == "ecs" ? "rotaudit_admin" : module.database[k].master_username
      # The ECS task's execution role reads the master secret; its name has a generated
      # suffix (modules/_internal/ecs-task-roles), hence a pattern (the deny is ArnNotLike).
      admin_readers = d.mode == "ecs" ? ["arn:${local.partition}:iam::${local.account_id}:role/${local.db_names[k]}-pg-exec-*"] : []
    }
  }
  # What the auditor knows of each database made here (RDS identifier, PostgreSQL's log group).
  db_audit = merge(
    { for k, m in module.database : k => { identifier = m.identifier, log_group = m.postgresql_log_group_name } },
    { for k, m in module.database_ecs : k => { identifier = m.identifier, log_group = m.postgresql_log_group_name } },
  )
  # Whether each database's master secret has a customer-managed key, known at plan time.
  admin_has_key = { for k, d in local.databases : k => d.mode != "external" || try(d.external.admin_kms_key_arn != null, false) }
  # Whether some database is reached without TLS (the ECS option, the local stack): its
  # rotators allow plaintext (DB_ALLOW_PLAINTEXT), and only theirs (the shared rotators).
  any_plaintext = anytrue([for k, d in local.databases : !local.db[k].tls])
}

# One database's secrets, bootstrap and rotation; the rotators are shared (module.rotator).
module "secret_rotation" {
  source   = "../secret-rotation"
  for_each = local.databases

  name                = local.db_names[each.key]
  secret_name_prefix  = local.secret_prefix[each.key]
  db_host             = local.db[each.key].host
  db_port             = local.db[each.key].port
  db_name             = local.db[each.key].db_name
  app_username        = local.app_user[each.key].username
  more_app_users      = [for id, u in local.more_app_users[each.key] : { username = u.username, strategy = u.strategy, reader_arns = u.reader_arns }]
  admin_username      = coalesce(local.db[each.key].master_user, "rotaudit_admin")
  admin_password_wo   = each.value.mode == "external" ? null : var.master_password_wo
  create_admin_secret = each.value.mode != "external"
  admin_secret_arn    = each.value.mode == "external" ? each.value.external.admin_secret_arn : null
  admin_kms_key_arn   = each.value.mode == "external" ? each.value.external.admin_kms_key_arn : null
  rotate_admin_secret = each.value.rotate_master
  # The shared rotators (module.rotator) and their rotation of these secrets are made below;
  # their roles' ARNs are written out rather than read from the module, whose policy names
  # these secrets.
  create_rotation       = false
  rotator_role_arns     = [for key in sort(distinct([for s, _ in local.rotations_of[each.key] : local.rotated["${each.key}/${s}"]])) : "arn:${local.partition}:iam::${local.account_id}:role/${local.name}-rotator-${key}"]
  lambda_zip_path       = "${local.dist}/rotator.zip"
  bootstrap_zip_path    = "${local.dist}/dbbootstrap.zip"
  invoke_bootstrap      = var.invoke_bootstrap
  subnet_ids            = local.placement[each.key].subnet_ids
  security_group_ids    = local.placement[each.key].security_group_ids
  app_rotation_strategy = local.app_user[each.key].strategy
  rotation_days         = coalesce(local.app_user[each.key].rotation_days, var.rotation_days)
  rotation_schedule     = local.app_user[each.key].rotation_schedule
  rotation_window       = var.rotation_window
  db_ca_bundle          = var.db_ca_bundle
  db_allow_plaintext    = !local.db[each.key].tls
  db_ssl                = local.db[each.key].tls
  recovery_window_days  = var.secret_recovery_window_days
  log_retention_days    = var.log_retention_days
  app_reader_arns       = distinct(concat(each.key == var.api_database ? local.app_readers : var.app_reader_arns, local.app_user[each.key].reader_arns))
  admin_reader_arns     = local.db[each.key].admin_readers
  secret_rotator_arns   = each.key == var.api_database ? module.db_access_iam.rotator_role_arns : []
  break_glass_role_arns = var.break_glass_role_arns
  break_glass_user_arns = module.db_access_iam.break_glass_user_arns
  operator_user_arns    = module.db_access_iam.db_operator_user_arns
  deployer_arns         = var.deployer_arns

  kms_deletion_window_days = var.kms_deletion_window_days
  secrets_manager_endpoint = var.secrets_manager_endpoint
}

# ------------------------------------------------------------------ a database's own network
# Lambda refuses a function whose subnets lie in more than one VPC, or whose security groups
# lie in another VPC than its subnets (CreateFunction, InvalidParameterValueException),
# which the variable's checks of the ids' forms cannot see: the plan reads each subnet and
# security group of a database's network and stops, naming them, before anything is made.
locals {
  own_networks = { for k, d in local.databases : k => d.network if d.network != null }
}

data "aws_subnet" "network" {
  for_each = toset(flatten([for k, n in local.own_networks : n.subnet_ids]))

  id = each.value
}

# tflint-ignore: terraform_unused_declarations # read for its postcondition alone
data "aws_security_group" "network" {
  for_each = toset(flatten([for k, n in local.own_networks : n.security_group_ids]))

  id = each.value

  lifecycle {
    postcondition {
      condition = alltrue(flatten([for k, n in local.own_networks : [
        for s in n.subnet_ids : data.aws_subnet.network[s].vpc_id == self.vpc_id
      ] if contains(n.security_group_ids, each.key)]))
      error_message = "Security group ${each.key} is in ${self.vpc_id}, and a database's network names it with subnets elsewhere (${join(", ", distinct(flatten([for k, n in local.own_networks : [for s in n.subnet_ids : "${k}: ${s} in ${data.aws_subnet.network[s].vpc_id}"] if contains(n.security_group_ids, each.key)])))}): Lambda refuses a function whose subnets and security groups are not all in one VPC."
    }
  }
}

# ------------------------------------------------------------------ the shared rotators
# One rotator function per strategy and network for every database: each database's secrets
# point their rotation at it, its policy names every secret it rotates and every master it
# reads, and its MASTER_SECRET_ARNS pins the masters of the databases it rotates (a
# secret's masterarn outside them is refused). Databases on the environment's network
# (lambdas_in_vpc) share one per strategy; an external database with a network of its own
# gets the rotators of that network; and where plaintext and TLS databases are mixed the
# plaintext ones get their own, so DB_ALLOW_PLAINTEXT is set only where it is needed.

locals {
  # Each database's rotator group: "" (the environment's network, the names a
  # single-database deployment has), "net<6 hex>" for a network of its own (named after
  # its subnets and security groups, known at plan time), "-plaintext" added for a
  # plaintext database among TLS ones.
  mixed_tls = local.any_plaintext && anytrue([for k, d in local.databases : local.db[k].tls])
  rotator_group = {
    for k, d in local.databases : k => join("-", compact([
      d.network == null ? "" : "net${substr(sha1(jsonencode(d.network)), 0, 6)}",
      local.mixed_tls && !local.db[k].tls ? "plaintext" : "",
    ]))
  }
  # The strategy of each rotated secret, by database (app, and admin when rotated).
  rotations_of = {
    for k, d in local.databases : k => merge({ app = local.app_user[k].strategy }, { for id, u in local.more_app_users[k] : id => u.strategy }, d.rotate_master ? { admin = "single-user" } : {})
  }
  # Every rotated secret, "<database>/<app|app-<username>|admin>" => its rotator's key: the strategy,
  # then the database's group.
  rotated = merge([for k, r in local.rotations_of : {
    for s, strategy in r : "${k}/${s}" => join("-", compact([strategy, local.rotator_group[k]]))
  }]...)
  # Which secrets each rotator rotates; known at plan time.
  rotated_by = { for key in distinct(values(local.rotated)) : key => sort([for id, r in local.rotated : id if r == key]) }
  strategies = toset(keys(local.rotated_by))
  # A database of each rotator's group (the group's network and TLS), and each database's
  # rotator suffix ("" or "-<group>").
  rotator_db     = { for key, ids in local.rotated_by : key => split("/", ids[0])[0] }
  rotator_suffix = { for k, g in local.rotator_group : k => g == "" ? "" : "-${g}" }
  # Where a database's rotator and bootstrap run: its own network, the environment's, or
  # outside a VPC.
  placement = {
    for k, d in local.databases : k => d.network != null ? d.network : {
      subnet_ids         = var.lambdas_in_vpc ? module.network.private_subnet_ids : []
      security_group_ids = var.lambdas_in_vpc ? [module.network.security_group_ids["rotator"]] : []
    }
  }
  secret_arn = merge(
    { for k, d in local.databases : "${k}/app" => module.secret_rotation[k].app_secret_arn },
    merge([for k, d in local.databases : { for id, m in module.secret_rotation[k].more_app_secrets : "${k}/${id}" => m.arn }]...),
    { for k, d in local.databases : "${k}/admin" => module.secret_rotation[k].admin_secret_arn },
  )
  key_arn = merge(
    { for k, d in local.databases : "${k}/app" => module.secret_rotation[k].app_kms_key_arn },
    merge([for k, d in local.databases : { for id, m in module.secret_rotation[k].more_app_secrets : "${k}/${id}" => m.kms_key_arn }]...),
    { for k, d in local.databases : "${k}/admin" => module.secret_rotation[k].admin_kms_key_arn },
  )
  has_key = merge(
    { for k, d in local.databases : "${k}/app" => true },
    merge([for k, d in local.databases : { for id, _ in local.more_app_users[k] : "${k}/${id}" => true }]...),
    { for k, d in local.databases : "${k}/admin" => local.admin_has_key[k] },
  )
  # Masters an alternating rotator acts with: those of the databases it rotates.
  rotator_reads = {
    for key, ids in local.rotated_by : key => startswith(key, "alternating-users") ? distinct([for id in ids : "${split("/", id)[0]}/admin" if split("/", id)[1] != "admin"]) : []
  }
  # Keys of the secrets each rotator changes or reads (those on aws/secretsmanager need none).
  rotator_keys = {
    for s in local.strategies : s => [for id in concat(local.rotated_by[s], local.rotator_reads[s]) : id if local.has_key[id]]
  }
  rotator_secret_names = {
    for s in local.strategies : s => [for id in local.rotated_by[s] : "${local.secret_prefix[split("/", id)[0]]}/${split("/", id)[1]}"]
  }
}

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

# The rotators' permissions and environment are modules/secret-rotation's, for every
# database's secrets at once (modules/_internal/rotator).
module "rotator" {
  source   = "../_internal/rotator"
  for_each = local.strategies

  name = "${local.name}-rotator-${each.key}"
  # A Lambda description holds 256 characters: the secrets' names for one database (a
  # single-database deployment's text) while they fit, the databases' keys otherwise.
  description = length(distinct([for id in local.rotated_by[each.key] : split("/", id)[0]])) == 1 && length(join(" and ", local.rotator_secret_names[each.key])) <= 200 ? "Rotates ${join(" and ", local.rotator_secret_names[each.key])} (${each.key})" : "Rotates ${length(local.rotator_secret_names[each.key])} secrets of databases ${join(", ", distinct([for id in local.rotated_by[each.key] : split("/", id)[0]]))} (${each.key})"
  # The key starts with the strategy (internal/tfcheck reads it from there).
  strategy            = regex("^(single-user|alternating-users)", each.key)[0]
  rotated_secret_arns = [for id in local.rotated_by[each.key] : local.secret_arn[id]]
  # Every database's master the alternating rotator may act with.
  master_secret_arns = [for id in local.rotator_reads[each.key] : local.secret_arn[id]]
  kms_key_arns       = [for id in local.rotator_keys[each.key] : local.key_arn[id]]
  zip_path           = "${local.dist}/rotator.zip"
  subnet_ids         = local.placement[local.rotator_db[each.key]].subnet_ids
  security_group_ids = local.placement[local.rotator_db[each.key]].security_group_ids
  log_retention_days = var.log_retention_days

  # The password and connection settings are modules/secret-rotation's defaults.
  secrets_manager_endpoint = var.secrets_manager_endpoint
  db_ca_bundle             = var.db_ca_bundle
  # Plaintext only where a database of the group is reached without TLS.
  db_allow_plaintext = anytrue([for id in local.rotated_by[each.key] : !local.db[split("/", id)[0]].tls])
}

locals {
  # One list of who may read the secrets, for the secrets' deny policy and for the
  # auditor's allow-lists alike. Break-glass roles may read but are left off the auditor's
  # lists on purpose: every use of them is reported (RA-01).
  app_readers = concat(var.api_enabled ? [module.api[0].task_role_arn] : [], var.app_reader_arns, module.db_access_iam.reader_role_arns)
  rotators = concat(
    [for f in module.rotator : f.role_arn],
    compact([for k, d in local.databases : module.secret_rotation[k].bootstrap_role_arn]),
    module.db_access_iam.rotator_role_arns,
  )
}

module "api" {
  source = "../api-service"
  count  = var.api_enabled ? 1 : 0

  name                 = local.name
  vpc_id               = module.network.vpc_id
  task_subnet_ids      = var.egress == "public" ? module.network.public_subnet_ids : module.network.private_subnet_ids
  assign_public_ip     = var.egress == "public"
  create_load_balancer = var.api_load_balancer
  container_insights   = var.container_insights
  lb_subnet_ids        = var.public_load_balancer ? module.network.public_subnet_ids : module.network.private_subnet_ids
  # Written as a conditional: checkov 3.3.30 renders !var.public_load_balancer through the
  # for_each'd calls as a public load balancer (CKV2_AWS_28).
  internal               = var.public_load_balancer ? false : true
  lb_security_group_id   = module.network.security_group_ids["alb"]
  task_security_group_id = module.network.security_group_ids["api"]
  image                  = "${module.ecr[0].repository_urls["rates-api"]}:${var.api_image_tag}"
  ecr_repository_arn     = module.ecr[0].repository_arns["rates-api"]
  db_secret_arn          = module.secret_rotation[var.api_database].app_secret_arn
  db_secret_kms_key_arn  = module.secret_rotation[var.api_database].app_kms_key_arn
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

  name            = local.name
  lambda_zip_path = "${local.dist}/auditor.zip"
  # Every database's secrets and keys; databases on one server share its master.
  watched_secret_arns = distinct(flatten([for k, d in local.databases : concat([module.secret_rotation[k].app_secret_arn, module.secret_rotation[k].admin_secret_arn], [for id, m in module.secret_rotation[k].more_app_secrets : m.arn])]))
  kms_key_arns        = distinct(flatten([for k, d in local.databases : module.secret_rotation[k].kms_key_arns]))
  reader_arns         = distinct(concat(local.app_readers, flatten([for k, d in local.databases : [for u in d.app_users : u.reader_arns]])))
  rotator_arns        = local.rotators
  deployer_arns       = var.deployer_arns
  trusted_networks    = [var.vpc_cidr]
  ecs_families        = var.api_enabled ? ["${local.name}-rates-api", "${local.name}-postgres"] : []
  ecs_clusters        = var.api_enabled ? [module.api[0].cluster_name] : []
  # Both images come from this deployment's repositories, by tag or by digest.
  ecs_registries = var.create_ecr ? flatten([for u in values(module.ecr[0].repository_urls) : ["${u}:", "${u}@"]]) : []
  trails         = var.create_trail ? [{ arn = module.audit_trail.trail_arn, bucket = module.audit_trail.bucket_name }] : []
  databases      = compact([for k, a in local.db_audit : a.identifier])
  # RA-13: the readers and rotators reach Secrets Manager through its endpoint, when there is one.
  vpc_endpoint_ids = [for k, id in module.network.vpc_endpoint_ids : id if k == "secretsmanager"]
  # The DB-xx rules read PostgreSQL's connection log: the database module's group (created
  # before the database writes to it), or, for an external server, a group made here that
  # its lines are put into.
  db_log_group_names    = compact([for k, a in local.db_audit : a.log_group])
  db_log_groups_managed = distinct([for k, d in local.databases : d.log_group_name if d.mode == "external" && d.log_group_name != ""])
  db_log_retention_days = var.log_retention_days
  db_logins = {
    users             = distinct(flatten([for k, d in local.databases : module.secret_rotation[k].app_usernames]))
    admin_users       = distinct(compact([for k, d in local.databases : local.db[k].master_user]))
    ignore_users      = anytrue(values(local.rds_engine)) ? ["rdsadmin"] : []
    client_networks   = distinct(flatten([for k, d in local.databases : coalesce(d.client_networks, [var.vpc_cidr])]))
    alternating_pairs = distinct(concat([for k, d in local.databases : module.secret_rotation[k].alternating_pairs]...))
  }
  # Off: EventBridge delivers the events live; see var.s3_backfill.
  s3_backfill              = var.s3_backfill
  backfill_enabled         = var.backfill_enabled
  backfill_max_concurrency = var.backfill_max_concurrency
  trail_bucket_name        = module.audit_trail.bucket_name
  trail_kms_key_arn        = module.audit_trail.kms_key_arn
  alert_subscriptions      = var.alert_subscriptions
  management_rule_state    = var.management_rule_state
  log_retention_days       = var.log_retention_days
  deletion_protection      = var.audit_table_deletion_protection
}

module "db_access_iam" {
  source = "../db-access-iam"

  name = local.name
  # The API's database: the application roles and rotate roles reach its secrets.
  app_secret_arn    = module.secret_rotation[var.api_database].app_secret_arn
  admin_secret_arn  = module.secret_rotation[var.api_database].admin_secret_arn
  app_kms_key_arn   = module.secret_rotation[var.api_database].app_kms_key_arn
  admin_kms_key_arn = module.secret_rotation[var.api_database].admin_kms_key_arn
  application_roles = var.application_roles
  # People look after every database: operators read and rotate every app secret,
  # break-glass reads every secret, auditors inspect them all.
  more_secrets = {
    # Chosen by key, not by value, so each list's length is known at plan (db-access-iam
    # counts its policy parts from them); a master shared by databases repeats, which the
    # parts drop.
    app_secret_arns = concat(
      [for k, m in module.secret_rotation : m.app_secret_arn if k != var.api_database],
      flatten([for k, m in module.secret_rotation : [for id in sort(keys(local.more_app_users[k])) : m.more_app_secrets[id].arn]]),
    )
    app_kms_key_arns = concat(
      [for k, m in module.secret_rotation : m.app_kms_key_arn if k != var.api_database],
      flatten([for k, m in module.secret_rotation : [for id in sort(keys(local.more_app_users[k])) : m.more_app_secrets[id].kms_key_arn]]),
    )
    admin_secret_arns = [for k, m in module.secret_rotation : m.admin_secret_arn if k != var.api_database]
    # An external master on the AWS managed key has none of its own.
    admin_kms_key_arns = [for k, m in module.secret_rotation : m.admin_kms_key_arn if k != var.api_database && local.admin_has_key[k]]
  }
  # Operators and rotate roles call RotateSecret, which invokes the rotator as them.
  rotator_function_arns = [for f in module.rotator : f.arn]
  # The people in the groups; secret-rotation excepts the same users from its deny.
  db_operator_user_arns = var.db_operator_user_arns
  break_glass_user_arns = var.break_glass_user_arns
}

# Only Secrets Manager, for this account and the one secret, may invoke a rotator (confused
# deputy): one permission per rotated secret, its statement id unique in the shared function's
# policy (the default database keeps a single-database deployment's ids).
resource "aws_lambda_permission" "rotator" {
  for_each = local.rotated

  statement_id   = startswith(each.key, "${local.default_database}/") ? "AllowSecretsManager-${split("/", each.key)[1]}" : "AllowSecretsManager-${replace(each.key, "/", "-")}"
  action         = "lambda:InvokeFunction"
  function_name  = module.rotator[each.value].function_name
  principal      = "secretsmanager.amazonaws.com"
  source_account = local.account_id
  source_arn     = local.secret_arn[each.key]
}

# Each database's secrets rotate with the shared rotator of their strategy: the app secret
# with its user's, the master (its own master) single-user, on the schedule of its
# database's first user. As in modules/secret-rotation, rotation is configured only once
# the database's bootstrap has written the app secret's first password (Secrets Manager
# tests the configuration at once; until then that test fails and the secret starts
# RotationFailed).
resource "aws_secretsmanager_secret_rotation" "app" {
  # checkov:skip=CKV_AWS_304:the value is conditional (rotation_days or a schedule), which checkov cannot evaluate; the days are validated at most 90
  for_each = local.databases

  secret_id           = module.secret_rotation[each.key].app_secret_arn
  rotation_lambda_arn = module.rotator[local.rotated["${each.key}/app"]].arn
  rotate_immediately  = false

  rotation_rules {
    automatically_after_days = local.app_user[each.key].rotation_schedule == null ? coalesce(local.app_user[each.key].rotation_days, var.rotation_days) : null
    schedule_expression      = local.app_user[each.key].rotation_schedule
    duration                 = var.rotation_window
  }

  depends_on = [aws_lambda_permission.rotator, module.secret_rotation]
}

# Each database's further users' secrets, keyed "<database>/<username>": the shared rotator
# of their strategy, on their own schedule.
resource "aws_secretsmanager_secret_rotation" "more_app" {
  # checkov:skip=CKV_AWS_304:the value is conditional (rotation_days or a schedule), which checkov cannot evaluate; the days are validated at most 90
  for_each = merge([for k, users in local.more_app_users : { for id, u in users : "${k}/${u.username}" => merge(u, { db = k, id = id }) }]...)

  secret_id           = module.secret_rotation[each.value.db].more_app_secrets[each.value.id].arn
  rotation_lambda_arn = module.rotator[local.rotated["${each.value.db}/${each.value.id}"]].arn
  rotate_immediately  = false

  rotation_rules {
    automatically_after_days = each.value.rotation_schedule == null ? coalesce(each.value.rotation_days, var.rotation_days) : null
    schedule_expression      = each.value.rotation_schedule
    duration                 = var.rotation_window
  }

  depends_on = [aws_lambda_permission.rotator, module.secret_rotation]
}

# The master has no master of its own: always single-user.
resource "aws_secretsmanager_secret_rotation" "admin" {
  # checkov:skip=CKV_AWS_304:the value is conditional (rotation_days or a schedule), which checkov cannot evaluate; the days are validated at most 90
  for_each = { for k, d in local.databases : k => d if d.rotate_master }

  secret_id           = module.secret_rotation[each.key].admin_secret_arn
  rotation_lambda_arn = module.rotator["single-user${local.rotator_suffix[each.key]}"].arn
  rotate_immediately  = false

  rotation_rules {
    automatically_after_days = local.app_user[each.key].rotation_schedule == null ? coalesce(local.app_user[each.key].rotation_days, var.rotation_days) : null
    schedule_expression      = local.app_user[each.key].rotation_schedule
    duration                 = var.rotation_window
  }

  depends_on = [aws_lambda_permission.rotator, module.secret_rotation]
}
