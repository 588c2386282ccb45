variable "name" {
  type        = string
  description = "Prefix of the bus, rules and trail (for example rotaudit-prod)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "auditor_function_arn" {
  type        = string
  description = "ARN of the audit Lambda in this (the security) account: modules/audit-alerts' lambda_arn."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}$", var.auditor_function_arn))
    error_message = "auditor_function_arn must be a Lambda function ARN: arn:aws:lambda:REGION:ACCOUNT:function:NAME."
  }
}

variable "organization_id" {
  type        = string
  description = "AWS Organizations id (o-...): every account of the organization may put events on the bus (aws:PrincipalOrgID), and the organization trail is the organization's. Null: only member_account_ids may."
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id must be an AWS Organizations id such as o-a1b2c3d4e5."
  }
}

variable "member_account_ids" {
  type        = list(string)
  description = "Member accounts allowed to put events on the bus (in addition to, or without, the organization). The auditor's member_accounts should list the same accounts: it skips records of any other."
  default     = []

  validation {
    condition     = alltrue([for a in var.member_account_ids : can(regex("^[0-9]{12}$", a))])
    error_message = "member_account_ids must be 12-digit account ids."
  }
}

variable "create_organization_trail" {
  type        = bool
  description = "Create the organization trail (modules/audit-trail with organization_id) and its bucket here; needs organization_id, and this account must be the management account or CloudTrail's delegated administrator."
  default     = false
}

variable "management_account_id" {
  type        = string
  description = "The organization's management account, which owns the organization trail (its ARN names it) when a delegated administrator creates it. Null: this account."
  default     = null

  validation {
    condition     = var.management_account_id == null || can(regex("^[0-9]{12}$", var.management_account_id))
    error_message = "management_account_id must be a 12-digit account id."
  }
}

variable "trail_force_destroy" {
  type        = bool
  description = "Let terraform destroy empty the organization trail's bucket (throw-away environments only)."
  default     = false
}

variable "dead_letter_queue_arn" {
  type        = string
  description = "SQS queue for events the rules could not deliver to the auditor (modules/audit-alerts' dead-letter queue); null: none."
  default     = null

  validation {
    condition     = var.dead_letter_queue_arn == null || can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}$", var.dead_letter_queue_arn))
    error_message = "dead_letter_queue_arn must be an SQS queue ARN."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
