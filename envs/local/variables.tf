variable "endpoint" {
  type        = string
  description = "URL of the local AWS emulator (moto server or LocalStack)."
  default     = "http://localhost:4566"

  validation {
    condition     = can(regex("^https?://", var.endpoint))
    error_message = "endpoint must be an http:// or https:// URL."
  }
}

variable "region" {
  type        = string
  description = "Region the emulator pretends to be."
  default     = "us-east-1"
}

variable "dist_dir" {
  type        = string
  description = "Folder holding rotator.zip and auditor.zip from `make package`, relative to this root."
  default     = "../../dist"
}

variable "db_host" {
  type        = string
  description = "Host of the local stack's PostgreSQL."
  default     = "127.0.0.1"
}

variable "db_port" {
  type        = number
  description = "Port of the local stack's PostgreSQL."
  default     = 15432
}

variable "admin_initial_password" {
  type        = string
  description = "Password of rotaudit_admin in the local stack (scripts/stack.sh creates the role)."
  sensitive   = true
}

variable "management_rule_state" {
  type        = string
  description = "State of the management-events rule; emulators may only know ENABLED."
  default     = "ENABLED"
}
