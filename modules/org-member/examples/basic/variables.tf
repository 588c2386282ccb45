variable "region" {
  type        = string
  description = "AWS region of the member account's events to forward."
  default     = "eu-west-1"
}

variable "central_event_bus_arn" {
  type        = string
  description = "ARN of the security account's audit bus (modules/org-central's event_bus_arn)."
  default     = "arn:aws:events:eu-west-1:111111111111:event-bus/rotaudit-example-org-audit"
}
