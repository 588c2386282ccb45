# The database's own logins (the auditor's DB-xx rules): PostgreSQL's connection and
# authentication log lines reach the auditor through a CloudWatch Logs subscription.
#
# The database module sets log_connections and log_disconnections in its parameter group
# and exports the "postgresql" log (RDS) or ships it through the awslogs driver (ECS).
# RDS writes the export to /aws/rds/instance/IDENTIFIER/postgresql and creates that group
# without retention or encryption when it does not exist, so the group must exist first:
#
# - with modules/database: it creates its export groups (retention, its key) before the
#   instance; pass its postgresql_log_group_name in db_log_group_names (envs/common);
# - with an instance created elsewhere: list the group in db_log_groups_managed to create
#   it here, with retention and a CMK, and make the instance reference this module's
#   db_log_group_names output (or depend on it) so it is created after the group; an
#   instance that already exports needs its group imported instead.

locals {
  # The groups to subscribe: the managed ones and any others given by name.
  db_log_groups = toset(concat(var.db_log_groups_managed, var.db_log_group_names))

  # Only the lines the DB-xx rules read invoke the Lambda.
  db_log_filter = "?\"connection received\" ?\"connection authorized\" ?\"authentication failed\" ?\"no pg_hba.conf entry\" ?\"disconnection\""
}

resource "aws_cloudwatch_log_group" "db" {
  # checkov:skip=CKV_AWS_338:log retention is a variable (db_log_retention_days, modules/rotaudit's log_retention_days); prod keeps 365 days, dev, stage and the emulator less to save cost
  for_each = toset(var.db_log_groups_managed)

  name              = each.value
  retention_in_days = var.db_log_retention_days
  kms_key_id        = var.db_log_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_permission" "db_logs" {
  for_each = local.db_log_groups

  statement_id   = "AllowDbLogs-${substr(sha256(each.value), 0, 16)}"
  action         = "lambda:InvokeFunction"
  function_name  = module.auditor.function_name
  principal      = "logs.amazonaws.com"
  source_arn     = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${each.value}:*"
  source_account = local.account_id
}

resource "aws_cloudwatch_log_subscription_filter" "db" {
  for_each = local.db_log_groups

  name            = "${var.name}-auditor-db-logins"
  log_group_name  = each.value
  filter_pattern  = local.db_log_filter
  destination_arn = module.auditor.arn

  depends_on = [aws_lambda_permission.db_logs, aws_cloudwatch_log_group.db]
}
