variable "name" {
  type        = string
  description = "Prefix of the rules and the role (for example rotaudit-prod)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "central_event_bus_arn" {
  type        = string
  description = "ARN of the security account's event bus that receives the forwarded events (modules/org-central's event_bus_arn)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._-]{1,256}$", var.central_event_bus_arn))
    error_message = "central_event_bus_arn must be an event bus ARN: arn:aws:events:REGION:ACCOUNT:event-bus/NAME."
  }
}

variable "forward" {
  type        = set(string)
  description = "Which of the auditor's generated patterns to forward: management (Secrets Manager, KMS, CloudTrail, RDS, ECS, EC2), access (AssumeRole, GetFederationToken, Roles Anywhere) and iam. IAM events reach EventBridge in us-east-1 only: forward iam from the us-east-1 instance of this module."
  default     = ["management", "access", "iam"]

  validation {
    condition     = length(var.forward) > 0 && alltrue([for f in var.forward : contains(["management", "access", "iam"], f)])
    error_message = "forward must name one or more of management, access and iam."
  }
}

variable "rule_state" {
  type        = string
  description = "State of the forwarding rules: ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS also forwards read-only calls such as GetSecretValue and AssumeRole, which the audit needs."
  default     = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"

  validation {
    condition     = contains(["ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", "DISABLED"], var.rule_state)
    error_message = "rule_state must be ENABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS or DISABLED."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
