variable "name" {
  type        = string
  description = "Required."
}

variable "size" {
  type        = number
  description = "Optional."
  default     = 1
}

output "groups" {
  description = "A literal object."
  value       = { a = 1, b = 2 }
}

data "aws_iam_policy_document" "narrow" {
  statement {
    sid       = "Named"
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::bucket/*"]
  }
}
