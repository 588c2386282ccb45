# The load balancer's access logs (create_access_logs_bucket): every request with its client,
# target, status and TLS details, the record a security review of the API starts from.
# The bucket is the load balancer's own: ELB writes only with SSE-S3 (no KMS key is
# supported for access logs), and only where the bucket policy lets the regional ELB
# account (regions before August 2022) or the log delivery service (newer regions) put
# objects under this account's prefix
# (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html).

data "aws_caller_identity" "current" {
  count = local.own_log_bucket ? 1 : 0
}

data "aws_elb_service_account" "current" {
  count = local.own_log_bucket ? 1 : 0
}

locals {
  own_log_bucket = var.create_load_balancer && var.create_access_logs_bucket
  log_bucket     = local.own_log_bucket ? aws_s3_bucket.access_logs[0].bucket : var.lb_access_logs_bucket
}

resource "aws_s3_bucket" "access_logs" {
  # checkov:skip=CKV_AWS_145:ALB access logs support SSE-S3 only; a KMS default encryption makes ELB's delivery fail
  # checkov:skip=CKV_AWS_144:cross-region replication of request logs is an org-level choice
  # checkov:skip=CKV_AWS_18:this is a log bucket itself; logging its reads would need a third bucket
  # checkov:skip=CKV2_AWS_62:nothing consumes the log files as they arrive
  count = local.own_log_bucket ? 1 : 0

  bucket        = "${var.name}-alb-logs-${data.aws_caller_identity.current[0].account_id}"
  force_destroy = var.access_logs_force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  count = local.own_log_bucket ? 1 : 0

  bucket                  = aws_s3_bucket.access_logs[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  count = local.own_log_bucket ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "access_logs" {
  count = local.own_log_bucket ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  count = local.own_log_bucket ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  count = local.own_log_bucket ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id

  rule {
    id     = "age-out-access-logs"
    status = "Enabled"
    filter {}

    expiration {
      days = var.access_logs_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.access_logs]
}

data "aws_iam_policy_document" "access_logs" {
  count = local.own_log_bucket ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.access_logs[0].arn, "${aws_s3_bucket.access_logs[0].arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # Regions opened before August 2022: the region's Elastic Load Balancing account writes.
  statement {
    sid       = "ElbAccountWrites"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs[0].arn}/${var.name}/AWSLogs/${data.aws_caller_identity.current[0].account_id}/*"]
    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.current[0].arn]
    }
  }

  # Newer regions: the log delivery service principal writes.
  statement {
    sid       = "ElbLogDeliveryWrites"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs[0].arn}/${var.name}/AWSLogs/${data.aws_caller_identity.current[0].account_id}/*"]
    principals {
      type        = "Service"
      identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  count = local.own_log_bucket ? 1 : 0

  bucket     = aws_s3_bucket.access_logs[0].id
  policy     = data.aws_iam_policy_document.access_logs[0].json
  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}
