variable "name" {
  description = "Has no type."
}

variable "size" {
  type = number
}

variable "colour_default" {
  type        = string
  description = "Optional."
  default     = "blue"
}

output "groups" {
  description = "A literal object."
  value       = { a = 1, b = 2 }
}

output "undocumented" {
  value = 1
}

data "aws_iam_policy_document" "wide" {
  statement {
    sid       = "NoReason"
    actions   = ["s3:GetObject"]
    resources = ["*"]
  }

  # checked: allowed and commented.
  statement {
    sid       = "Fine"
    actions   = ["xray:PutTraceSegments"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = [1]
    content {
      sid       = "DynamicStar"
      actions   = ["s3:ListBucket"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "inline" {
  name = "inline"
  role = "r"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "s3:*", Resource = "*" }]
  })
}
