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
  description = "Folder holding rotator.zip, auditor.zip and dbbootstrap.zip from `make package`, relative to this root."
  default     = "../../dist"
}

variable "db_host" {
  type        = string
  description = "Host of the local stack's PostgreSQL."
  default     = "127.0.0.1"
}

variable "db_port" {
  type        = number
  description = "Port of the local stack's PostgreSQL (PG_PORT: TF_VAR_db_port)."
  default     = 15432
}

variable "admin_secret_name" {
  type        = string
  description = "Name of the existing master secret made by `make up` (rotaudit_admin's credentials); Terraform never reads or writes its value."
  default     = "rotaudit/local/admin"
}

variable "admin_kms_key_arn" {
  type        = string
  description = "KMS key of the existing master secret; null for the AWS managed key (what `make up` uses)."
  default     = null
}

variable "app_rotation_strategy" {
  type        = string
  description = "How the app secret rotates: alternating-users or single-user."
  default     = "alternating-users"
}

variable "app_reader_arns" {
  type        = list(string)
  description = "Principals that read the app secret (locally: whoever runs the API); listed in the secret's policy and the auditor's readers."
  default     = []
}

variable "break_glass_role_arns" {
  type        = list(string)
  description = "Break-glass roles that may read both secrets (each read is reported)."
  default     = []
}

variable "application_roles" {
  type = map(object({
    service = string
    access  = string
  }))
  description = "Application roles of db-access-iam; their ARNs reach the secrets' policy and the auditor's allow-lists."
  default = {
    reporting = { service = "ecs-tasks.amazonaws.com", access = "read" }
  }
}

variable "management_rule_state" {
  type        = string
  description = "State of the management-events rule; emulators may only know ENABLED."
  default     = "ENABLED"
}

variable "db_name" {
  type        = string
  description = "Database of the rates API on the local PostgreSQL (the bootstrap creates its schema)."
  default     = "rates"
}

variable "app_username" {
  type        = string
  description = "Login role of the rates API (the bootstrap creates it; rotation alternates it with <name>_clone)."
  default     = "rates_app"
}

variable "dynamodb_endpoint" {
  type        = string
  description = "DynamoDB endpoint when the emulator does not serve it (LocalStack in host mode: moto beside it); null uses endpoint."
  default     = null
}

variable "create_alert_inbox" {
  type        = bool
  description = "Subscribe an SQS queue to the alert topic, as a local stand-in for the e-mail or chat subscriptions of a real account."
  default     = true
}

variable "create_ecr" {
  type        = bool
  description = "Create the API's ECR repository; LocalStack's free edition has no ECR, so its deployment test sets false."
  default     = true
}

variable "s3_backfill" {
  type        = bool
  description = "Invoke the auditor for every CloudTrail log file written to the trail bucket as well (modules/audit-alerts s3_backfill). Off: EventBridge is the live path and each record would be processed twice; turn it on only to backfill, and off again afterwards."
  default     = false
}

variable "db_log_group_name" {
  type        = string
  description = "CloudWatch Logs group to create for PostgreSQL's connection log and subscribe to the auditor's DB-xx rules (the stack has no RDS export: a test or an operator puts the lines). Empty: none, and the DB-xx rules stay off."
  default     = ""

  validation {
    condition     = var.db_log_group_name == "" || can(regex("^[A-Za-z0-9_/.#-]{1,512}$", var.db_log_group_name))
    error_message = "db_log_group_name must be a CloudWatch Logs group name (letters, digits, _ / . # -) or empty."
  }
}

variable "second_db_log_group_name" {
  type        = string
  description = "As db_log_group_name, for the stack's second cluster (the databases of extra_databases with cluster = \"second\"): its own server, so its own connection log. Those on the stack's cluster share db_log_group_name, whose lines name the database. Empty: none."
  default     = ""

  validation {
    condition     = var.second_db_log_group_name == "" || can(regex("^[A-Za-z0-9_/.#-]{1,512}$", var.second_db_log_group_name))
    error_message = "second_db_log_group_name must be a CloudWatch Logs group name (letters, digits, _ / . # -) or empty."
  }
  validation {
    condition     = var.second_db_log_group_name == "" || var.second_db_log_group_name != var.db_log_group_name
    error_message = "second_db_log_group_name must differ from db_log_group_name: the two clusters are two servers with two logs."
  }
}

variable "extra_databases" {
  type = map(object({
    db_name               = string
    admin_secret_name     = string
    app_username          = string
    cluster               = optional(string, "stack")
    app_rotation_strategy = optional(string, "alternating-users")
    rotate_master         = optional(bool, true)
    more_app_users = optional(list(object({
      username = string
      strategy = optional(string, "alternating-users")
    })), [])
  }))
  description = "The databases beside \"rates\" (db_name, app_username, admin_secret_name, and more_app_users: further applications' logins, each with its own secret <prefix>/app-<username> and strategy), keyed by a short name: on the stack's cluster (cluster = \"stack\", port db_port) or on its second cluster (\"second\", port second_db_port). Each has its own app secret and bootstrap; databases of one cluster share its master secret, which only one of them rotates (rotate_master = false on the others; \"rates\" rotates the stack's)."
  default     = {}

  validation {
    condition     = alltrue([for k, d in var.extra_databases : contains(["stack", "second"], d.cluster)])
    error_message = "extra_databases: cluster must be stack or second."
  }
  validation {
    condition     = !contains(keys(var.extra_databases), "rates")
    error_message = "extra_databases: the key rates is the database of db_name and app_username; choose another."
  }
}

variable "second_db_port" {
  type        = number
  description = "Port of the stack's second PostgreSQL cluster (PG2_PORT; scripts/tf-plan.sh sets TF_VAR_second_db_port)."
  default     = 15442

  validation {
    condition     = var.second_db_port >= 1 && var.second_db_port <= 65535
    error_message = "second_db_port must be between 1 and 65535."
  }
}
