data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  rds         = var.engine_mode == "rds"
  aurora      = var.engine_mode == "aurora"
  ecs         = var.engine_mode == "ecs"
  managed     = local.rds || local.aurora # an RDS-engine server: subnet group, monitoring, exported logs
  major       = split(".", var.engine_version)[0]
  kms_key_arn = var.kms_key_arn == null ? module.key[0].arn : var.kms_key_arn
  ecs_host    = "postgres.${var.name}.internal"
  retain_key  = coalesce(var.retain_kms_key, !var.skip_final_snapshot)

  # Aurora PostgreSQL exports only the postgresql log (the connection lines the auditor reads).
  rds_log_exports = local.aurora ? ["postgresql"] : ["postgresql", "upgrade"]
  # writer + reader in two zones when multi_az, as the instance's standby would be.
  aurora_instance_count = coalesce(var.aurora_instance_count, var.multi_az ? 2 : 1)

  # The server settings an RDS instance's and an Aurora cluster's parameter groups both
  # carry: TLS only, connection logging for the audit trail, SCRAM verifiers.
  server_parameters = {
    "rds.force_ssl"     = "1"
    log_connections     = "1"
    log_disconnections  = "1"
    password_encryption = "scram-sha-256"
  }
}

# CloudWatch Logs encrypts the database's log groups with the key.
data "aws_iam_policy_document" "key" {
  # checked: a key policy's resource is always "*" (it means this key).
  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:*"]
    }
  }
}

module "key" {
  source = "../_internal/kms-key"
  count  = var.kms_key_arn == null ? 1 : 0

  description = "${var.name}: database storage, logs and EFS"
  policy_json = data.aws_iam_policy_document.key.json
  # The final snapshot outlives the database and is readable only with this key, so the
  # key must outlive it too: a destroy would otherwise schedule its deletion right after
  # taking the snapshot. The longest deletion window (30 days) is the default besides.
  prevent_destroy = local.retain_key
  tags            = var.tags
}

# ---------------------------------------------------------------- RDS PostgreSQL

resource "aws_db_subnet_group" "this" {
  count = local.managed ? 1 : 0

  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_db_parameter_group" "this" {
  count = local.rds ? 1 : 0

  name_prefix = "${var.name}-pg${local.major}-"
  family      = "postgres${local.major}"
  description = "${var.name}: TLS only, connection logging for the audit trail"

  dynamic "parameter" {
    for_each = local.server_parameters
    content {
      name  = parameter.key
      value = parameter.value
    }
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

# Confused deputy: only this account's databases may have RDS assume the role
# (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Monitoring.OS.Enabling.html).
data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  count = local.managed && var.monitoring_interval > 0 ? 1 : 0

  name_prefix        = "${var.name}-rds-mon-"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  count = length(aws_iam_role.monitoring)

  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

# The groups RDS exports the logs to, created here first: RDS creates a missing one itself,
# with no retention and no customer key. The postgresql group carries the connection log
# the auditor's DB-xx rules read (output postgresql_log_group_name). An instance that
# already exported before this existed has its groups already: import them
# (terraform import 'module.database.aws_cloudwatch_log_group.rds["postgresql"]' NAME).
resource "aws_cloudwatch_log_group" "rds" {
  # checkov:skip=CKV_AWS_338:log retention is a variable (log_retention_days); prod keeps 365 days, dev, stage and the emulator less to save cost
  for_each = local.managed ? toset(local.rds_log_exports) : toset([])

  name              = "/aws/rds/${local.aurora ? "cluster" : "instance"}/${var.name}/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
  tags              = var.tags
}

resource "aws_db_instance" "this" {
  # checkov:skip=CKV_AWS_293:deletion protection is a variable (deletion_protection); stage and prod keep it on and dev off to stay deletable, as envs/common/tests/plan.tftest.hcl asserts
  # checkov:skip=CKV_AWS_157:Multi-AZ is a variable (multi_az); prod sets it, dev and stage save the standby's cost
  count = local.rds ? 1 : 0

  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class
  db_name        = var.db_name
  username       = var.master_username
  # Write-only: the password (an ephemeral value) never reaches the plan or the state.
  # The same value seeds the admin secret; rotation changes both afterwards.
  password_wo         = var.master_password_wo
  password_wo_version = var.master_password_wo_version
  port                = 5432

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb == 0 ? null : var.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = local.kms_key_arn

  db_subnet_group_name   = aws_db_subnet_group.this[0].name
  vpc_security_group_ids = [var.security_group_id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.this[0].name
  ca_cert_identifier     = "rds-ca-rsa2048-g1"

  multi_az                            = var.multi_az
  deletion_protection                 = var.deletion_protection
  backup_retention_period             = var.backup_retention_days
  copy_tags_to_snapshot               = true
  skip_final_snapshot                 = var.skip_final_snapshot
  final_snapshot_identifier           = var.skip_final_snapshot ? null : "${var.name}-final"
  auto_minor_version_upgrade          = true
  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = local.rds_log_exports

  performance_insights_enabled    = true
  performance_insights_kms_key_id = local.kms_key_arn
  monitoring_interval             = var.monitoring_interval
  monitoring_role_arn             = var.monitoring_interval > 0 ? aws_iam_role.monitoring[0].arn : null

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.rds]
}

# ---------------------------------------------------------------- Aurora PostgreSQL

# The cluster-level settings of the instance's parameter group: TLS only, connection logging.
resource "aws_rds_cluster_parameter_group" "this" {
  count = local.aurora ? 1 : 0

  name_prefix = "${var.name}-aurora-pg${local.major}-"
  family      = "aurora-postgresql${local.major}"
  description = "${var.name}: TLS only, connection logging for the audit trail"

  dynamic "parameter" {
    for_each = local.server_parameters
    content {
      name  = parameter.key
      value = parameter.value
    }
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_rds_cluster" "this" {
  # checkov:skip=CKV_AWS_139:deletion protection is a variable (deletion_protection); stage and prod keep it on and dev off to stay deletable, as on the RDS instance
  # checkov:skip=CKV2_AWS_8:backups are RDS automated backups (backup_retention_days, point-in-time restore) and the final snapshot, as for the RDS instance; an AWS Backup plan is an account-level choice outside this module
  # checkov:skip=CKV2_AWS_27:statement logging (log_statement, log_min_duration_statement) would write the rotator's ALTER ROLE ... PASSWORD statements, new passwords included, to CloudWatch Logs; the audit reads the connection log (log_connections, log_disconnections), as on the RDS instance
  count = local.aurora ? 1 : 0

  cluster_identifier = var.name
  engine             = "aurora-postgresql"
  engine_mode        = "provisioned"
  engine_version     = var.engine_version
  database_name      = var.db_name
  master_username    = var.master_username
  # Write-only, as on the instance: the password (an ephemeral value) never reaches the plan
  # or the state; the same value seeds the admin secret and rotation changes both
  # afterwards. RDS's managed secret (manage_master_user_password, see README) stays off:
  # the provider refuses it beside master_password_wo even when set to false, so it is
  # left unset.
  master_password_wo         = var.master_password_wo
  master_password_wo_version = var.master_password_wo_version
  port                       = 5432

  storage_encrypted = true
  kms_key_id        = local.kms_key_arn

  db_subnet_group_name            = aws_db_subnet_group.this[0].name
  vpc_security_group_ids          = [var.security_group_id]
  db_cluster_parameter_group_name = aws_rds_cluster_parameter_group.this[0].name

  deletion_protection                 = var.deletion_protection
  backup_retention_period             = var.backup_retention_days
  copy_tags_to_snapshot               = true
  skip_final_snapshot                 = var.skip_final_snapshot
  final_snapshot_identifier           = var.skip_final_snapshot ? null : "${var.name}-final"
  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = local.rds_log_exports

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.rds]
}

# The writer, and readers in the other zones when there are more (RDS spreads them over the
# subnet group's zones and fails over to one).
resource "aws_rds_cluster_instance" "this" {
  count = local.aurora ? local.aurora_instance_count : 0

  identifier         = "${var.name}-${count.index + 1}"
  cluster_identifier = aws_rds_cluster.this[0].id
  engine             = aws_rds_cluster.this[0].engine
  engine_version     = aws_rds_cluster.this[0].engine_version
  instance_class     = var.instance_class

  db_subnet_group_name       = aws_db_subnet_group.this[0].name
  publicly_accessible        = false
  ca_cert_identifier         = "rds-ca-rsa2048-g1"
  auto_minor_version_upgrade = true
  copy_tags_to_snapshot      = true

  performance_insights_enabled    = true
  performance_insights_kms_key_id = local.kms_key_arn
  monitoring_interval             = var.monitoring_interval
  monitoring_role_arn             = var.monitoring_interval > 0 ? aws_iam_role.monitoring[0].arn : null

  tags = var.tags
}

# ---------------------------------------------------------------- PostgreSQL on ECS + EFS

resource "aws_efs_file_system" "this" {
  count = local.ecs ? 1 : 0

  creation_token = "${var.name}-postgres"
  encrypted      = true
  kms_key_id     = local.kms_key_arn

  lifecycle_policy {
    transition_to_ia = "AFTER_30_DAYS"
  }

  tags = merge(var.tags, { Name = "${var.name}-postgres" })
}

resource "aws_efs_backup_policy" "this" {
  count = local.ecs ? 1 : 0

  file_system_id = aws_efs_file_system.this[0].id
  backup_policy {
    status = "ENABLED"
  }
}

resource "aws_security_group" "efs" {
  count = local.ecs ? 1 : 0

  name        = "${var.name}-postgres-efs"
  description = "NFS from the PostgreSQL task only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "efs" {
  count = local.ecs ? 1 : 0

  security_group_id            = aws_security_group.efs[0].id
  description                  = "NFS from the PostgreSQL task"
  referenced_security_group_id = var.security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
}

resource "aws_vpc_security_group_egress_rule" "database_to_efs" {
  count = local.ecs ? 1 : 0

  security_group_id            = var.security_group_id
  description                  = "NFS to the PostgreSQL data volume"
  referenced_security_group_id = aws_security_group.efs[0].id
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
}

resource "aws_efs_mount_target" "this" {
  count = local.ecs ? length(var.subnet_ids) : 0

  file_system_id  = aws_efs_file_system.this[0].id
  subnet_id       = var.subnet_ids[count.index]
  security_groups = [aws_security_group.efs[0].id]
}

resource "aws_efs_access_point" "this" {
  count = local.ecs ? 1 : 0

  file_system_id = aws_efs_file_system.this[0].id

  # uid/gid 999 is the postgres user of the official image.
  posix_user {
    uid = 999
    gid = 999
  }

  root_directory {
    path = "/pgdata"
    creation_info {
      owner_uid   = 999
      owner_gid   = 999
      permissions = "0700"
    }
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "ecs" {
  # checkov:skip=CKV_AWS_338:log retention is a variable (log_retention_days); prod keeps 365 days, dev, stage and the emulator less to save cost
  count = local.ecs ? 1 : 0

  name              = "/ecs/${var.name}/postgres"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
  tags              = var.tags
}

resource "aws_service_discovery_private_dns_namespace" "this" {
  count = local.ecs ? 1 : 0

  name = "${var.name}.internal"
  vpc  = var.vpc_id
  tags = var.tags
}

resource "aws_service_discovery_service" "this" {
  count = local.ecs ? 1 : 0

  name = "postgres"

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.this[0].id
    routing_policy = "MULTIVALUE"
    dns_records {
      type = "A"
      ttl  = 10
    }
  }

  tags = var.tags
}

# What ECS needs to start PostgreSQL beyond pulling the image and writing the log group:
# the master secret it injects into the container.
data "aws_iam_policy_document" "ecs_execution" {
  count = local.ecs ? 1 : 0

  statement {
    sid       = "ReadMasterSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.ecs_master_secret_arn]
  }

  statement {
    sid       = "DecryptMasterSecret"
    actions   = ["kms:Decrypt"]
    resources = [var.ecs_master_secret_kms_key_arn]
  }
}

data "aws_iam_policy_document" "ecs_task" {
  count = local.ecs ? 1 : 0

  statement {
    sid       = "MountData"
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = [aws_efs_file_system.this[0].arn]
    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.this[0].arn]
    }
  }
}

module "ecs_roles" {
  source = "../_internal/ecs-task-roles"
  count  = local.ecs ? 1 : 0

  name_prefix           = "${var.name}-pg"
  repository_arns       = ["arn:${data.aws_partition.current.partition}:ecr:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:repository/${var.name}/*"]
  log_group_arn         = aws_cloudwatch_log_group.ecs[0].arn
  execution_policy_name = "start-postgres"
  execution_policy_json = data.aws_iam_policy_document.ecs_execution[0].json
  task_policy_name      = "mount-postgres-data"
  task_policy_json      = data.aws_iam_policy_document.ecs_task[0].json
  tags                  = var.tags
}

resource "aws_ecs_task_definition" "this" {
  count = local.ecs ? 1 : 0

  family                   = "${var.name}-postgres"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.ecs_cpu
  memory                   = var.ecs_memory_mb
  execution_role_arn       = module.ecs_roles[0].execution_role_arn
  task_role_arn            = module.ecs_roles[0].task_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "ARM64"
  }

  # The root filesystem is read-only; PostgreSQL writes its socket and temporary files
  # to these task-local scratch volumes.
  volume {
    name = "pgrun"
  }
  volume {
    name = "pgtmp"
  }

  volume {
    name = "pgdata"
    efs_volume_configuration {
      file_system_id     = aws_efs_file_system.this[0].id
      transit_encryption = "ENABLED"
      authorization_config {
        access_point_id = aws_efs_access_point.this[0].id
        iam             = "ENABLED"
      }
    }
  }

  container_definitions = jsonencode([
    {
      name                   = "postgres"
      image                  = var.ecs_image
      essential              = true
      user                   = "999:999"
      readonlyRootFilesystem = true
      portMappings = [
        { containerPort = 5432, protocol = "tcp" },
      ]
      environment = [
        { name = "POSTGRES_USER", value = var.master_username },
        { name = "POSTGRES_DB", value = var.db_name },
        { name = "PGDATA", value = "/var/lib/postgresql/data/pgdata" },
      ]
      # Only read at the first start, when the data directory is empty; rotation changes
      # the role's password in the database afterwards.
      secrets = [
        { name = "POSTGRES_PASSWORD", valueFrom = "${var.ecs_master_secret_arn}:password::" },
      ]
      command = ["postgres", "-c", "log_connections=on", "-c", "log_disconnections=on", "-c", "password_encryption=scram-sha-256"]
      mountPoints = [
        { sourceVolume = "pgdata", containerPath = "/var/lib/postgresql/data", readOnly = false },
        { sourceVolume = "pgrun", containerPath = "/var/run/postgresql", readOnly = false },
        { sourceVolume = "pgtmp", containerPath = "/tmp", readOnly = false },
      ]
      healthCheck = {
        command     = ["CMD-SHELL", "pg_isready -U ${var.master_username} -d ${var.db_name}"]
        interval    = 10
        timeout     = 5
        retries     = 5
        startPeriod = 30
      }
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.ecs[0].name
          awslogs-region        = data.aws_region.current.name
          awslogs-stream-prefix = "postgres"
        }
      }
    },
  ])

  tags = var.tags
}

resource "aws_ecs_service" "this" {
  count = local.ecs ? 1 : 0

  name            = "${var.name}-postgres"
  cluster         = var.ecs_cluster_arn
  task_definition = aws_ecs_task_definition.this[0].arn
  desired_count   = 1
  launch_type     = "FARGATE"

  # One writer on one data directory: stop the old task before starting the new one.
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [var.security_group_id]
    assign_public_ip = false
  }

  service_registries {
    registry_arn = aws_service_discovery_service.this[0].arn
  }

  tags       = var.tags
  depends_on = [aws_efs_mount_target.this]
}
