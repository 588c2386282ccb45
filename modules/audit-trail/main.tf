data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  bucket     = coalesce(var.bucket_name, "${var.name}-cloudtrail-${local.account_id}")
  # An organization trail belongs to the management account, whoever creates it: its ARN,
  # the key's encryption context and the bucket policy's source ARN all name that account.
  organization  = var.organization_id != null
  trail_account = local.organization ? coalesce(var.management_account_id, local.account_id) : local.account_id
  trail_arn     = "arn:${local.partition}:cloudtrail:${local.region}:${local.trail_account}:trail/${var.name}"
  # Where CloudTrail writes: AWSLogs/<account>/ for the trail's own account, and for an
  # organization trail AWSLogs/<organization id>/<member account>/ for every member.
  log_prefixes = concat(
    ["${aws_s3_bucket.this.arn}/AWSLogs/${local.trail_account}/*"],
    local.organization ? ["${aws_s3_bucket.this.arn}/AWSLogs/${var.organization_id}/*"] : [],
  )
}

data "aws_iam_policy_document" "key" {
  # checkov:skip=CKV_AWS_356:in a key policy the resource "*" means this key; the statements are limited to CloudTrail for this trail and the account (internal/tfcheck allow-lists each)
  # checked: a key policy's resource is always "*" (it means this key).
  statement {
    sid       = "CloudTrailEncrypts"
    actions   = ["kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:aws:cloudtrail:arn"
      values   = ["arn:${local.partition}:cloudtrail:*:${local.trail_account}:trail/*"]
    }
  }

  # checked: a key policy's resource is always "*" (it means this key).
  statement {
    sid       = "CloudTrailDescribes"
    actions   = ["kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
  }

  # checked: a key policy's resource is always "*" (it means this key).
  statement {
    sid       = "AccountReadsLogs"
    actions   = ["kms:Decrypt", "kms:ReEncryptFrom"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:aws:cloudtrail:arn"
      values   = ["arn:${local.partition}:cloudtrail:*:${local.trail_account}:trail/*"]
    }
  }
}

module "key" {
  source = "../_internal/kms-key"

  description = "${var.name}: CloudTrail log files"
  alias       = "${var.name}-cloudtrail"
  policy_json = data.aws_iam_policy_document.key.json
  tags        = var.tags
}

resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_144:versioning plus optional object lock protect the trail; cross-region replication is an org-level choice
  # checkov:skip=CKV2_AWS_62:the audit-alerts module sets the event notifications on the trail bucket (another module, invisible to this check), and only while backfilling
  bucket              = local.bucket
  force_destroy       = var.force_destroy
  object_lock_enabled = var.object_lock_days > 0
  tags                = var.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = module.key.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "age-out-log-files"
    status = "Enabled"
    filter {}

    dynamic "transition" {
      for_each = var.transition_to_glacier_days == null ? [] : [var.transition_to_glacier_days]
      content {
        days          = transition.value
        storage_class = "GLACIER"
      }
    }
    expiration {
      days = var.expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = var.expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]

  # The day order S3 enforces on a rule and the emulators do not: PutBucketLifecycleConfiguration
  # refuses an expiration that is not later than the rule's transition (Glacier's minimum
  # storage charge would make a same-day expiration pointless anyway). The noncurrent
  # versions have no transition of their own, so only their expiration (>= 1 day, as
  # expiration_days' validation asks) applies to them.
  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html
  lifecycle {
    precondition {
      condition     = var.transition_to_glacier_days == null || var.expiration_days > coalesce(var.transition_to_glacier_days, 0)
      error_message = "expiration_days (${var.expiration_days}) must be later than transition_to_glacier_days (${coalesce(var.transition_to_glacier_days, -1)}): S3 refuses a lifecycle rule that expires log files no later than it moves them to Glacier. Raise expiration_days or set transition_to_glacier_days = null (no transition)."
    }
  }
}

resource "aws_s3_bucket_object_lock_configuration" "this" {
  count = var.object_lock_days > 0 ? 1 : 0

  bucket = aws_s3_bucket.this.id
  rule {
    default_retention {
      mode = "COMPLIANCE"
      days = var.object_lock_days
    }
  }
}

resource "aws_s3_bucket_logging" "this" {
  count = var.access_log_bucket == null ? 0 : 1

  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_log_bucket
  target_prefix = "s3/${local.bucket}/"
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
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

  statement {
    sid       = "CloudTrailAclCheck"
    actions   = ["s3:GetBucketAcl"]
    resources = [aws_s3_bucket.this.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }

  statement {
    sid       = "CloudTrailWrite"
    actions   = ["s3:PutObject"]
    resources = local.log_prefixes
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }

  # Log files are evidence: nobody deletes them or their versions, not even admins
  # (lifecycle expiration is not an API call and still works). Throw-away environments
  # with force_destroy must be able to empty the bucket, so they go without.
  dynamic "statement" {
    for_each = var.force_destroy ? [] : [1]
    content {
      sid       = "DenyLogDeletion"
      effect    = "Deny"
      actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
      resources = ["${aws_s3_bucket.this.arn}/AWSLogs/*"]
      principals {
        type        = "*"
        identifiers = ["*"]
      }
    }
  }

  statement {
    sid       = "DenyUnencryptedUploads"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["aws:kms"]
    }
    condition {
      test     = "Null"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket     = aws_s3_bucket.this.id
  policy     = data.aws_iam_policy_document.bucket.json
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_cloudtrail" "this" {
  # checkov:skip=CKV_AWS_252:no SNS topic per log file: the S3 ObjectCreated notification to the auditor does this job
  # checkov:skip=CKV2_AWS_10:no CloudWatch Logs delivery: EventBridge gives the auditor the management events directly and it reads the log files
  count = var.create_trail ? 1 : 0

  name                          = var.name
  s3_bucket_name                = aws_s3_bucket.this.id
  kms_key_id                    = module.key.arn
  is_multi_region_trail         = true
  is_organization_trail         = local.organization
  include_global_service_events = true # IAM and STS events are global
  enable_log_file_validation    = true

  event_selector {
    read_write_type           = var.include_read_events ? "All" : "WriteOnly"
    include_management_events = true
  }

  tags       = var.tags
  depends_on = [aws_s3_bucket_policy.this]
}
