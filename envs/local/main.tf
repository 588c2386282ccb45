# The local emulator (moto server or LocalStack) gets the modules it can emulate. ECS (the
# API service and the ecs database option) and CloudTrail are off: the emulators lack them.
# PostgreSQL is the local stack's own server, so the database module is not used and the
# secrets point at it directly. The master secret is the stack's (rotaudit/local/admin,
# made by `make up` with rotaudit_admin's real password): Terraform never sees a password.

# The local emulator (moto server or LocalStack) gets the deployment of dev, stage and prod
# (modules/rotaudit), with what the emulators lack switched off: ECS (the API service and
# the ecs database option), the CloudTrail trail, the VPC for the functions. PostgreSQL is
# the local stack's own server (database_mode external), so the secrets point at it
# directly. The master secret is the stack's (rotaudit/local/admin, made by `make up` with
# rotaudit_admin's real password): Terraform never sees a password.

data "aws_secretsmanager_secret" "admin" {
  name = var.admin_secret_name
}

module "rotaudit" {
  source = "../../modules/rotaudit"
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  environment        = "tflocal"
  availability_zones = ["${var.region}a", "${var.region}b"]
  dist_dir           = var.dist_dir
  api_image_tag      = "local" # no API service here (api_enabled = false)

  # Every database is on the stack's PostgreSQL (external): "rates" from db_name and
  # app_username, and extra_databases beside it.
  databases             = local.databases
  app_reader_arns       = var.app_reader_arns
  application_roles     = var.application_roles
  break_glass_role_arns = var.break_glass_role_arns

  # What the emulators lack, or what a throwaway stack needs no charge or wait for.
  api_enabled                     = false
  api_load_balancer               = false
  create_trail                    = false
  create_ecr                      = var.create_ecr
  lambdas_in_vpc                  = false
  invoke_bootstrap                = false
  enable_secretsmanager_endpoint  = false
  enable_logs_endpoint            = false
  enable_ecr_endpoints            = false
  enable_s3_endpoint              = false
  enable_kms_endpoint             = false
  secrets_manager_endpoint        = var.endpoint
  management_rule_state           = var.management_rule_state
  secret_recovery_window_days     = 0
  kms_deletion_window_days        = 7
  log_retention_days              = 1
  trail_force_destroy             = true
  ecr_force_delete                = true
  audit_table_deletion_protection = false
  s3_backfill                     = var.s3_backfill
}

data "aws_secretsmanager_secret" "extra_admin" {
  for_each = var.extra_databases

  name = each.value.admin_secret_name
}

locals {
  # The database's login log: a group the stack's PostgreSQL lines are put into (the emulator
  # has no RDS log export), subscribed to the auditor; its clients are on this machine.
  databases = merge(
    {
      rates = {
        mode = "external"
        external = {
          host              = var.db_host
          port              = var.db_port
          db_name           = var.db_name
          admin_secret_arn  = data.aws_secretsmanager_secret.admin.arn
          admin_kms_key_arn = var.admin_kms_key_arn
          tls               = false
        }
        app_users       = [{ username = var.app_username, strategy = var.app_rotation_strategy }]
        rotate_master   = true
        log_group_name  = var.db_log_group_name
        client_networks = ["127.0.0.0/8"]
      }
    },
    {
      for k, d in var.extra_databases : k => {
        mode = "external"
        external = {
          host              = var.db_host
          port              = d.cluster == "second" ? var.second_db_port : var.db_port
          db_name           = d.db_name
          admin_secret_arn  = data.aws_secretsmanager_secret.extra_admin[k].arn
          admin_kms_key_arn = null
          tls               = false
        }
        app_users     = concat([{ username = d.app_username, strategy = d.app_rotation_strategy }], d.more_app_users)
        rotate_master = d.rotate_master
        # One server, one connection log: the second cluster's own group, else the stack's.
        log_group_name  = d.cluster == "second" ? var.second_db_log_group_name : var.db_log_group_name
        client_networks = ["127.0.0.0/8"]
      }
    },
  )
}

# The alerts' local inbox: what an e-mail or chat subscription is on a real account, readable
# by `make e2e` and by hand (aws sqs receive-message).
resource "aws_sqs_queue" "alert_inbox" {
  count                   = var.create_alert_inbox ? 1 : 0
  name                    = "rotaudit-tflocal-alert-inbox"
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
      values   = [module.rotaudit.audit_alerts.alert_topic_arn]
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
  topic_arn = module.rotaudit.audit_alerts.alert_topic_arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.alert_inbox[0].arn
}
