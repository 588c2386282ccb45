variable "region" {
  type        = string
  description = "Region of the security account's bus and of the members' rules."
  default     = "eu-west-1"
}

variable "organization_id" {
  type        = string
  description = "The organization org-central admits (aws:PrincipalOrgID)."
  default     = "o-awscheck01"
}

variable "org_member_account_id" {
  type        = string
  description = "A member account in the organization, not listed in member_account_ids."
  default     = "222233334444"
}

variable "listed_member_account_id" {
  type        = string
  description = "A member account outside the organization, listed in member_account_ids."
  default     = "444455556666"
}

variable "auditor_zip" {
  type        = string
  description = "A zip for the auditor's stand-in function (its code is not checked here)."
}
