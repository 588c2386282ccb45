data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

data "aws_region" "us_east_1" {
  provider = aws.us_east_1
}

locals {
  account_id    = data.aws_caller_identity.current.account_id
  partition     = data.aws_partition.current.partition
  region        = data.aws_region.current.name
  function_name = "${var.name}-auditor"
  # An explicit boolean, not "bucket given": the bucket name usually comes from another
  # module's resource and may be unknown until apply, which count cannot wait for. Off
  # unless backfilling: EventBridge already delivers each record live.
  s3_enabled = var.s3_backfill

  # IAM events reach EventBridge in us-east-1 only. A rule there can target a Lambda only
  # in its own region, so elsewhere it forwards to this region's default bus, where a
  # twin rule with the same pattern invokes the Lambda.
  iam_forward = var.enable_iam_rule && data.aws_region.us_east_1.name != local.region

  management_pattern = file("${path.module}/patterns/management-events.json")
  iam_pattern        = file("${path.module}/patterns/iam-events.json")
  access_pattern     = file("${path.module}/patterns/access-events.json")

  # The audit configuration document (internal/audit.Config); unset durations are left
  # out so the auditor applies its defaults, and so are the optional sections left empty,
  # which keeps the document of a caller that sets none of them as it was.
  audit_config = jsonencode(merge(
    {
      watched_secrets  = [for a in var.watched_secret_arns : { arn = a }]
      kms_keys         = var.kms_key_arns
      readers          = var.reader_arns
      rotators         = var.rotator_arns
      deployers        = var.deployer_arns
      trusted_networks = var.trusted_networks
      ecs = merge(
        {
          families = var.ecs_families
          clusters = var.ecs_clusters
        },
        { for k, v in { registries = var.ecs_registries } : k => v if length(v) > 0 },
      )
    },
    { for k, v in {
      trails        = [for t in var.trails : { arn = t.arn, bucket = t.bucket }]
      databases     = var.databases
      vpc_endpoints = var.vpc_endpoint_ids
      # Without its unset fields: the auditor rejects a null duration.
      db_logins = { for k, v in var.db_logins : k => v if v != null }
      # An organization's auditor: the member accounts it receives events from.
      member_accounts = var.member_account_ids
    } : k => v if length(v) > 0 },
    # With member accounts the auditor needs its own account too (account_id).
    { for k, v in { account_id = local.account_id } : k => v if length(var.member_account_ids) > 0 },
    { for k, v in var.audit_settings : k => v if v != null },
  ))
}

# EventBridge encrypts what it writes to the dead-letter queue with this key.
data "aws_iam_policy_document" "key" {
  # checked: a key policy's resource is always "*" (it means this key).
  statement {
    sid       = "EventBridgeWritesDeadLetters"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# One key for the alert topic, the dead-letter queue and the state table.
module "key" {
  source = "../_internal/kms-key"

  description = "${var.name}: audit alerts, dead letters and state"
  alias       = "${var.name}-audit"
  policy_json = data.aws_iam_policy_document.key.json
  tags        = var.tags
}

# ------------------------------------------------------------------ state, alerts, dead letters

resource "aws_dynamodb_table" "state" {
  name         = "${var.name}-audit-state"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }

  ttl {
    attribute_name = "ttl"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = module.key.arn
  }

  deletion_protection_enabled = var.deletion_protection
  tags                        = var.tags
}

resource "aws_sns_topic" "alerts" {
  name              = "${var.name}-audit-alerts"
  kms_master_key_id = module.key.arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "this" {
  for_each = { for s in var.alert_subscriptions : "${s.protocol}:${s.endpoint}" => s }

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name}-audit-dlq"
  message_retention_seconds = var.dlq_retention_seconds
  kms_master_key_id         = module.key.arn
  tags                      = var.tags
}

# ------------------------------------------------------------------ the audit Lambda

# The auditor's own permissions; modules/_internal/lambda-function adds logs and traces.
data "aws_iam_policy_document" "auditor" {
  statement {
    sid = "KeepState"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
      "dynamodb:Query",
      "dynamodb:BatchWriteItem",
      "dynamodb:ConditionCheckItem",
    ]
    resources = [aws_dynamodb_table.state.arn]
  }

  # checked: DescribeTrails acts on no resource; IAM accepts only "*" for it. The auditor
  # lists the trails at start to watch every trail's bucket (RA-07) without configuration.
  statement {
    sid       = "LearnTrails"
    actions   = ["cloudtrail:DescribeTrails"]
    resources = ["*"]
  }

  statement {
    sid       = "PublishAlerts"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  statement {
    sid       = "UseAuditKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [module.key.arn]
  }

  dynamic "statement" {
    for_each = local.s3_enabled || var.backfill_enabled ? [1] : []
    content {
      sid       = "ReadLogFiles"
      actions   = ["s3:GetObject"]
      resources = ["arn:${local.partition}:s3:::${var.trail_bucket_name}/AWSLogs/*"]
    }
  }

  # The event source mapping reads the backfill queue with the function's role.
  dynamic "statement" {
    for_each = var.backfill_enabled ? [1] : []
    content {
      sid       = "ReadBackfillQueue"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
      resources = [aws_sqs_queue.backfill[0].arn]
    }
  }

  dynamic "statement" {
    for_each = var.trail_kms_key_arn == null ? [] : [var.trail_kms_key_arn]
    content {
      sid       = "DecryptLogFiles"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

module "auditor" {
  source = "../_internal/lambda-function"

  name                   = local.function_name
  description            = "Audits the use of the rotaudit database secrets from CloudTrail events and log files"
  zip_path               = var.lambda_zip_path
  memory_mb              = var.lambda_memory_mb
  timeout_seconds        = var.lambda_timeout_seconds
  dead_letter_target_arn = aws_sqs_queue.dlq.arn
  tracing_mode           = var.lambda_tracing ? "Active" : "PassThrough"
  policy_name            = "audit"
  policy_json            = data.aws_iam_policy_document.auditor.json
  log_retention_days     = var.log_retention_days
  log_kms_key_arn        = var.log_kms_key_arn
  tags                   = var.tags

  # The keys are the auditor's contract (internal/audit.EnvVars); a Go test checks them.
  # The auditor refuses both AUDIT_CONFIG and AUDIT_CONFIG_FILE, so one of them is empty.
  # AUDIT_CONFIG is the document gzipped, in base64 (audit.ConfigDocument reads either):
  # Lambda refuses an environment over 4 KB, which a plain document of some seven databases
  # passes; gzipped, its ARNs take about a quarter (the audit_config output is the plain one).
  environment = {
    AUDIT_CONFIG      = var.audit_config_file == "" ? base64gzip(local.audit_config) : ""
    AUDIT_CONFIG_FILE = var.audit_config_file
    STATE_TABLE       = aws_dynamodb_table.state.name
    ALERT_TOPIC_ARN   = aws_sns_topic.alerts.arn
  }
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = module.auditor.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600
}

# ------------------------------------------------------------------ EventBridge rules

# The home-region rules, one rule, target and invoke permission each. "access" holds STS,
# IAM Roles Anywhere and EC2 calls that hand out credentials or open the database (rules
# RA-15, RA-16, RA-18, RA-20, RA-21): no room is left in the management pattern.
# AssumeRole and GetFederationToken are read-only calls, so both rules take the management
# rule's state.
locals {
  event_rules = {
    management = {
      description  = "Secrets Manager, KMS, CloudTrail, RDS, RDS Data, ECS calls and root sign-in, read-only calls included"
      pattern      = local.management_pattern
      statement_id = "AllowEventBridgeManagement"
    }
    access = {
      description  = "STS federation tokens and AssumeRole by users and role sessions, IAM Roles Anywhere, security group ingress"
      pattern      = local.access_pattern
      statement_id = "AllowEventBridgeAccess"
    }
  }
}

resource "aws_cloudwatch_event_rule" "this" {
  for_each = local.event_rules

  name          = "${var.name}-audit-${each.key}"
  description   = each.value.description
  event_pattern = each.value.pattern
  state         = var.management_rule_state
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.event_rules

  rule      = aws_cloudwatch_event_rule.this[each.key].name
  target_id = "auditor"
  arn       = module.auditor.arn

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
  retry_policy {
    maximum_retry_attempts       = 8
    maximum_event_age_in_seconds = 3600
  }
}

resource "aws_lambda_permission" "this" {
  for_each = local.event_rules

  statement_id   = each.value.statement_id
  action         = "lambda:InvokeFunction"
  function_name  = module.auditor.function_name
  principal      = "events.amazonaws.com"
  source_arn     = aws_cloudwatch_event_rule.this[each.key].arn
  source_account = local.account_id
}

resource "aws_cloudwatch_event_rule" "iam" {
  count    = var.enable_iam_rule ? 1 : 0
  provider = aws.us_east_1

  name          = "${var.name}-audit-iam"
  description   = "IAM policy changes (IAM delivers to us-east-1 only)"
  event_pattern = local.iam_pattern
  state         = "ENABLED"
  tags          = var.tags
}

# Same region: the us-east-1 rule invokes the Lambda directly.
resource "aws_cloudwatch_event_target" "iam_direct" {
  count    = var.enable_iam_rule && !local.iam_forward ? 1 : 0
  provider = aws.us_east_1

  rule      = aws_cloudwatch_event_rule.iam[0].name
  target_id = "auditor"
  arn       = module.auditor.arn

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

resource "aws_lambda_permission" "iam_direct" {
  count = var.enable_iam_rule && !local.iam_forward ? 1 : 0

  statement_id   = "AllowEventBridgeIam"
  action         = "lambda:InvokeFunction"
  function_name  = module.auditor.function_name
  principal      = "events.amazonaws.com"
  source_arn     = aws_cloudwatch_event_rule.iam[0].arn
  source_account = local.account_id
}

# Other region: forward to this region's default bus, where the twin rule invokes the Lambda.
data "aws_iam_policy_document" "forward_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "forward" {
  count = local.iam_forward ? 1 : 0

  name               = "${var.name}-audit-iam-forward"
  assume_role_policy = data.aws_iam_policy_document.forward_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "forward" {
  statement {
    sid       = "ForwardToHomeBus"
    actions   = ["events:PutEvents"]
    resources = ["arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/default"]
  }
}

resource "aws_iam_role_policy" "forward" {
  count = local.iam_forward ? 1 : 0

  name   = "forward-iam-events"
  role   = aws_iam_role.forward[0].id
  policy = data.aws_iam_policy_document.forward.json
}

resource "aws_cloudwatch_event_target" "iam_forward" {
  count    = local.iam_forward ? 1 : 0
  provider = aws.us_east_1

  rule      = aws_cloudwatch_event_rule.iam[0].name
  target_id = "home-region-bus"
  arn       = "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/default"
  role_arn  = aws_iam_role.forward[0].arn
}

resource "aws_cloudwatch_event_rule" "iam_home" {
  count = local.iam_forward ? 1 : 0

  name          = "${var.name}-audit-iam-forwarded"
  description   = "IAM policy changes forwarded from us-east-1"
  event_pattern = local.iam_pattern
  state         = "ENABLED"
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "iam_home" {
  count = local.iam_forward ? 1 : 0

  rule      = aws_cloudwatch_event_rule.iam_home[0].name
  target_id = "auditor"
  arn       = module.auditor.arn

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

resource "aws_lambda_permission" "iam_home" {
  count = local.iam_forward ? 1 : 0

  statement_id   = "AllowEventBridgeIamForwarded"
  action         = "lambda:InvokeFunction"
  function_name  = module.auditor.function_name
  principal      = "events.amazonaws.com"
  source_arn     = aws_cloudwatch_event_rule.iam_home[0].arn
  source_account = local.account_id
}

# EventBridge writes undeliverable events to the dead-letter queue itself.
data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "EventBridgeDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      # Every rule that targets the auditor may leave its undeliverable events here.
      values = concat(
        [for r in aws_cloudwatch_event_rule.this : r.arn],
        aws_cloudwatch_event_rule.iam[*].arn,
        aws_cloudwatch_event_rule.iam_home[*].arn,
      )
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.dlq.json
}

# ------------------------------------------------------------------ S3 log file notifications
#
# Backfill only (s3_backfill). EventBridge delivers every management event live; the log
# files CloudTrail writes to the bucket hold the same records again, so reading both
# processes each record twice (deduplicated alerts, doubled Lambda cost). To backfill,
# e.g. after the Lambda was down longer than EventBridge retries or when the trail
# predates this module: apply with s3_backfill = true, then send the Lambda one S3
# ObjectCreated record per log file to replay (files CloudTrail writes meanwhile arrive
# through the notification by themselves), and apply with s3_backfill = false when done.

resource "aws_lambda_permission" "s3" {
  count = local.s3_enabled ? 1 : 0

  statement_id   = "AllowTrailBucket"
  action         = "lambda:InvokeFunction"
  function_name  = module.auditor.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = "arn:${local.partition}:s3:::${var.trail_bucket_name}"
  source_account = local.account_id
}

resource "aws_s3_bucket_notification" "trail" {
  count = local.s3_enabled ? 1 : 0

  bucket = var.trail_bucket_name

  lifecycle {
    precondition {
      condition     = var.trail_bucket_name != null
      error_message = "s3_backfill needs trail_bucket_name."
    }
  }

  lambda_function {
    lambda_function_arn = module.auditor.arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = "AWSLogs/"
    filter_suffix       = ".json.gz"
  }

  depends_on = [aws_lambda_permission.s3]
}
