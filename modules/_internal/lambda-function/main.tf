# Internal (modules/_internal/README.md): one Lambda function of this project (a Go binary
# named bootstrap, arm64, provided.al2023, X-Ray tracing unless turned off, JSON logs) with what every such
# function needs: its log group, an IAM role Lambda may assume only for this account, and
# one inline policy that lets it write its logs and traces and, in a VPC, manage its
# network interfaces in its own subnets only. The caller's permissions (policy_json) join
# that policy; triggers and invoke permissions stay with the caller.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  in_vpc     = length(var.subnet_ids) > 0

  subnet_arns         = [for id in var.subnet_ids : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:subnet/${id}"]
  security_group_arns = [for id in var.security_group_ids : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/${id}"]
  interfaces_arn      = "arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"
}

resource "aws_cloudwatch_log_group" "this" {
  # checkov:skip=CKV_AWS_338:log retention is a variable (log_retention_days); prod keeps 365 days, dev, stage and the emulator less to save cost
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  source_policy_documents = [var.policy_json]

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  # Lambda creates the function's interfaces in these subnets with these groups only.
  dynamic "statement" {
    for_each = local.in_vpc ? [1] : []
    content {
      sid       = "CreateInterfacesInOwnSubnets"
      actions   = ["ec2:CreateNetworkInterface"]
      resources = concat([local.interfaces_arn], local.subnet_arns, local.security_group_arns)
    }
  }

  dynamic "statement" {
    for_each = local.in_vpc ? [1] : []
    content {
      sid       = "ManageOwnInterfaces"
      actions   = ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
      resources = [local.interfaces_arn]
      condition {
        test     = "ArnEquals"
        variable = "ec2:Subnet"
        values   = local.subnet_arns
      }
    }
  }

  # checked: ec2:Describe* supports no resource-level permissions; "*" is the only value.
  dynamic "statement" {
    for_each = local.in_vpc ? [1] : []
    content {
      sid       = "DescribeInterfaces"
      actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
      resources = ["*"]
    }
  }

  # checked: X-Ray trace segments belong to no resource; "*" is the only valid value.
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = var.policy_name
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_173:the environments hold names, ARNs and settings, never secrets; AWS encrypts them at rest anyway
  # checkov:skip=CKV_AWS_272:zips are built reproducibly by make package (same source, same bytes); AWS Signer is out of scope
  function_name    = var.name
  description      = var.description
  role             = aws_iam_role.this.arn
  filename         = var.zip_path
  source_code_hash = filebase64sha256(var.zip_path)
  handler          = "bootstrap"
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  memory_size      = var.memory_mb
  timeout          = var.timeout_seconds

  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = var.environment
  }

  lifecycle {
    # Lambda refuses a function whose environment (names and values) is over 4 KB
    # (InvalidParameterValueException): said here, before anything else of the apply.
    precondition {
      condition     = sum(concat([0], [for k, v in var.environment : length(k) + length(v)])) <= 4096
      error_message = "${var.name}'s environment would have ${sum(concat([0], [for k, v in var.environment : length(k) + length(v)]))} bytes (names and values), and Lambda refuses one over 4096; its largest value is ${try(reverse(sort([for k, v in var.environment : format("%06d %s", length(v), k)]))[0], "")} (bytes, name)."
    }
  }

  dynamic "vpc_config" {
    for_each = local.in_vpc ? [1] : []
    content {
      subnet_ids         = var.subnet_ids
      security_group_ids = var.security_group_ids
    }
  }

  dynamic "dead_letter_config" {
    for_each = var.dead_letter_target_arn == null ? [] : [var.dead_letter_target_arn]
    content {
      target_arn = dead_letter_config.value
    }
  }

  tracing_config {
    mode = var.tracing_mode
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.this]
}
