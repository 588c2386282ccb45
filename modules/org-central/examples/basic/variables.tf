variable "region" {
  type        = string
  description = "AWS region of the security account's auditor."
  default     = "eu-west-1"
}

variable "auditor_function_arn" {
  type        = string
  description = "ARN of the audit Lambda (modules/audit-alerts' lambda_arn in the security account)."
  default     = "arn:aws:lambda:eu-west-1:111111111111:function:rotaudit-example-auditor"
}

variable "organization_id" {
  type        = string
  description = "The organization's id."
  default     = "o-a1b2c3d4e5"
}

variable "member_account_ids" {
  type        = list(string)
  description = "Member accounts whose events the audit receives."
  default     = ["222222222222", "333333333333"]
}
