variable "description" {
  type        = string
  description = "Description of the key: what it encrypts."
}

variable "alias" {
  type        = string
  description = "Alias name without the alias/ prefix; null creates no alias."
  default     = null
}

variable "policy_json" {
  type        = string
  description = "Further key policy statements (an aws_iam_policy_document's json), after AccountAdministers; null for none. Sids must differ from AccountAdministers."
  default     = null
}

variable "deletion_window_days" {
  type        = number
  description = "Days a scheduled deletion waits (7 to 30)."
  default     = 30

  validation {
    condition     = var.deletion_window_days >= 7 && var.deletion_window_days <= 30
    error_message = "deletion_window_days must be between 7 and 30."
  }
}

variable "prevent_destroy" {
  type        = bool
  description = "Refuse any plan that destroys or replaces the key (terraform destroy included), for a key that encrypts data outliving the deployment; state rm the module instance to tear down and keep the key."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags for the key."
  default     = {}
}
