# ------------------------------------------------------------------ backfill queue
#
# `rotaudit audit backfill` (internal/backfill) sends one message per CloudTrail log file
# of the trail bucket to this FIFO queue, grouped by account and region in delivery order;
# the auditor reads it through an event source mapping whose maximum concurrency bounds
# the workers, and reports per-message failures so that only those return. Off by default:
# turn it on for a backfill of history, and off when the queue is drained.

locals {
  # Six times the function's timeout, as AWS asks of a queue a Lambda reads, so that a
  # batch still being read is not handed out again.
  backfill_visibility_timeout = min(6 * var.lambda_timeout_seconds, 43200)
}

# Files whose batch failed backfill_max_receive_count times: look at the auditor's log,
# then redrive them to the queue.
resource "aws_sqs_queue" "backfill_dlq" {
  count = var.backfill_enabled ? 1 : 0

  name                      = "${var.name}-audit-backfill-dlq.fifo"
  fifo_queue                = true
  message_retention_seconds = 1209600
  # SQS-managed keys: the messages name log files, no event content, and an operator's
  # role can send and redrive without a grant on the audit key.
  sqs_managed_sse_enabled = true
  tags                    = var.tags
}

resource "aws_sqs_queue" "backfill" {
  count = var.backfill_enabled ? 1 : 0

  name       = "${var.name}-audit-backfill.fifo"
  fifo_queue = true
  # The sender gives each file's deduplication id (key and ETag); high-throughput FIFO
  # keeps the order per message group (one stream each), which is all the rules need.
  content_based_deduplication = false
  deduplication_scope         = "messageGroup"
  fifo_throughput_limit       = "perMessageGroupId"
  visibility_timeout_seconds  = local.backfill_visibility_timeout
  message_retention_seconds   = 1209600
  sqs_managed_sse_enabled     = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.backfill_dlq[0].arn
    maxReceiveCount     = var.backfill_max_receive_count
  })
  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.trail_bucket_name != null
      error_message = "backfill_enabled needs trail_bucket_name: the auditor reads the log files the messages name from it."
    }
  }
}

resource "aws_lambda_event_source_mapping" "backfill" {
  count = var.backfill_enabled ? 1 : 0

  event_source_arn = aws_sqs_queue.backfill[0].arn
  function_name    = module.auditor.arn
  # A FIFO queue hands out at most 10 messages a batch; one file each.
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.backfill_max_concurrency
  }

  # Lambda checks at creation that the role may read the queue (ReadBackfillQueue).
  depends_on = [module.auditor]
}
