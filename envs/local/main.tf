# The local emulator (moto server or LocalStack) gets the modules it can emulate. ECS (the
# API service and the ecs database option) and CloudTrail are off: the emulators lack them.
# PostgreSQL is the local stack's own server, so the database module is not used and the
# secrets point at it directly. The master secret is the stack's (rotaudit/local/admin,
# made by `make up` with rotaudit_admin's real password): Terraform never sees a password.

locals {
  name = "rotaudit-tflocal"
  dist = "${path.root}/${var.dist_dir}"
}

data "aws_secretsmanager_secret" "admin" {
  name = var.admin_secret_name
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
  count  = var.create_ecr ? 1 : 0

  name         = local.name
  force_delete = true
}

module "secret_rotation" {
  source = "../../modules/secret-rotation"

  name                     = local.name
  secret_name_prefix       = "rotaudit/tflocal"
  db_host                  = var.db_host
  db_port                  = var.db_port
  db_name                  = var.db_name
  app_username             = var.app_username
  create_admin_secret      = false
  admin_secret_arn         = data.aws_secretsmanager_secret.admin.arn
  admin_kms_key_arn        = var.admin_kms_key_arn
  lambda_zip_path          = "${local.dist}/rotator.zip"
  bootstrap_zip_path       = "${local.dist}/dbbootstrap.zip"
  invoke_bootstrap         = false
  app_rotation_strategy    = var.app_rotation_strategy
  db_allow_plaintext       = true
  db_ssl                   = false
  secrets_manager_endpoint = var.endpoint
  recovery_window_days     = 0
  kms_deletion_window_days = 7
  log_retention_days       = 1
  app_reader_arns          = concat(var.app_reader_arns, module.db_access_iam.reader_role_arns)
  secret_rotator_arns      = module.db_access_iam.rotator_role_arns
  break_glass_role_arns    = var.break_glass_role_arns
}

module "audit_trail" {
  source = "../../modules/audit-trail"

  name          = local.name
  bucket_name   = "${local.name}-cloudtrail"
  create_trail  = false
  force_destroy = true
}

locals {
  # The same lists feed the secrets' deny policy (above) and the auditor's allow-lists.
  app_readers = concat(var.app_reader_arns, module.db_access_iam.reader_role_arns)
  rotators = concat(
    module.secret_rotation.rotation_role_arns,
    compact([module.secret_rotation.bootstrap_role_arn]),
    module.db_access_iam.rotator_role_arns,
  )
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
  kms_key_arns          = module.secret_rotation.kms_key_arns
  reader_arns           = local.app_readers
  rotator_arns          = local.rotators
  s3_backfill           = var.s3_backfill
  trail_bucket_name     = module.audit_trail.bucket_name
  trail_kms_key_arn     = module.audit_trail.kms_key_arn
  management_rule_state = var.management_rule_state
  log_retention_days    = 1
  deletion_protection   = false
  # The database's login log: a group the stack's PostgreSQL lines are put into (the
  # emulator has no RDS log export), subscribed to the auditor; its DB-xx rules know the
  # app users and that the clients are on this machine.
  db_log_groups_managed = var.db_log_group_name == "" ? [] : [var.db_log_group_name]
  db_log_retention_days = 1
  db_logins = {
    users           = var.db_log_group_name == "" ? null : module.secret_rotation.app_usernames
    client_networks = var.db_log_group_name == "" ? null : ["127.0.0.0/8"]
  }
}

module "db_access_iam" {
  source = "../../modules/db-access-iam"

  name              = local.name
  app_secret_arn    = module.secret_rotation.app_secret_arn
  admin_secret_arn  = module.secret_rotation.admin_secret_arn
  app_kms_key_arn   = module.secret_rotation.app_kms_key_arn
  admin_kms_key_arn = module.secret_rotation.admin_kms_key_arn
  application_roles = var.application_roles
  # Operators and rotate roles call RotateSecret, which invokes the rotator as them.
  rotator_function_arns = module.secret_rotation.rotator_function_arns
}

# The alerts' local inbox: what an e-mail or chat subscription is on a real account, readable
# by `make e2e` and by hand (aws sqs receive-message).
resource "aws_sqs_queue" "alert_inbox" {
  count                   = var.create_alert_inbox ? 1 : 0
  name                    = "${local.name}-alert-inbox"
  sqs_managed_sse_enabled = true
}

data "aws_iam_policy_document" "alert_inbox" {
  count = var.create_alert_inbox ? 1 : 0
  statement {
    sid       = "AlertTopicSends"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.alert_inbox[0].arn]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [module.audit_alerts.alert_topic_arn]
    }
  }
}

resource "aws_sqs_queue_policy" "alert_inbox" {
  count     = var.create_alert_inbox ? 1 : 0
  queue_url = aws_sqs_queue.alert_inbox[0].id
  policy    = data.aws_iam_policy_document.alert_inbox[0].json
}

resource "aws_sns_topic_subscription" "alert_inbox" {
  count     = var.create_alert_inbox ? 1 : 0
  topic_arn = module.audit_alerts.alert_topic_arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.alert_inbox[0].arn
}
