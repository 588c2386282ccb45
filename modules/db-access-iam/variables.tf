variable "name" {
  type        = string
  description = "Name prefix of the policies, roles and groups (for example rotaudit-dev)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "app_secret_arn" {
  type        = string
  description = "ARN of the application database secret."

  validation {
    condition     = startswith(var.app_secret_arn, "arn:")
    error_message = "app_secret_arn must be an ARN."
  }
}

variable "admin_secret_arn" {
  type        = string
  description = "ARN of the master (admin) database secret."

  validation {
    condition     = startswith(var.admin_secret_arn, "arn:")
    error_message = "admin_secret_arn must be an ARN."
  }
}

variable "app_kms_key_arn" {
  type        = string
  description = "ARN of the KMS key that encrypts the application secret."
}

variable "admin_kms_key_arn" {
  type        = string
  description = "ARN of the KMS key that encrypts the master secret; null when it uses the AWS managed key."
  default     = null
}

variable "more_secrets" {
  type = object({
    app_secret_arns    = optional(list(string), [])
    app_kms_key_arns   = optional(list(string), [])
    admin_secret_arns  = optional(list(string), [])
    admin_kms_key_arns = optional(list(string), [])
  })
  description = "The other database secrets people look after (other databases', other app users'): the db-operators group reads and rotates these app secrets as it does app_secret_arn, break-glass reads every one of them, masters included, and auditors inspect them. The managed policies and the application roles keep to app_secret_arn and admin_secret_arn."
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for a in concat(var.more_secrets.app_secret_arns, var.more_secrets.admin_secret_arns) : can(regex("^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", a))])
    error_message = "more_secrets: app_secret_arns and admin_secret_arns must be Secrets Manager secret ARNs."
  }
  validation {
    condition     = alltrue([for a in concat(var.more_secrets.app_kms_key_arns, var.more_secrets.admin_kms_key_arns) : can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", a))])
    error_message = "more_secrets: app_kms_key_arns and admin_kms_key_arns must be KMS key ARNs."
  }
}

variable "rotator_function_arns" {
  type        = list(string)
  description = "ARNs of the rotation Lambda functions of the secrets (secret-rotation's rotator_function_arns). RotateSecret invokes the function with its caller's permissions, so every policy here that may call RotateSecret also gets lambda:InvokeFunction on exactly these."
  default     = []

  validation {
    condition     = alltrue([for a in var.rotator_function_arns : can(regex("^arn:[a-z-]+:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+$", a))])
    error_message = "rotator_function_arns must be unqualified Lambda function ARNs."
  }
}

variable "application_roles" {
  type = map(object({
    service = string
    access  = string
  }))
  description = "Roles for applications by name: the AWS service that assumes the role (such as ecs-tasks.amazonaws.com) and its access to the app secret, read or rotate."
  default     = {}

  validation {
    condition     = alltrue([for r in values(var.application_roles) : contains(["read", "rotate"], r.access) && endswith(r.service, ".amazonaws.com")])
    error_message = "application_roles: access must be read or rotate, and service an AWS service principal ending in .amazonaws.com."
  }
}

variable "create_groups" {
  type        = bool
  description = "Create the groups for people: auditors (read-only), db-operators and break-glass admins, all requiring MFA."
  default     = true
}

variable "db_operator_user_arns" {
  type        = list(string)
  description = "IAM users (existing ones) made the members of the db-operators group; Terraform then owns the group's membership. Pass the same list to secret-rotation's operator_user_arns, whose deny policy would otherwise refuse them the value."
  default     = []

  validation {
    condition     = alltrue([for a in var.db_operator_user_arns : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:user/", a))])
    error_message = "db_operator_user_arns must be IAM user ARNs."
  }
}

variable "break_glass_user_arns" {
  type        = list(string)
  description = "IAM users (existing ones) made the members of the break-glass group; Terraform then owns the group's membership. Pass the same list to secret-rotation's break_glass_user_arns."
  default     = []

  validation {
    condition     = alltrue([for a in var.break_glass_user_arns : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:user/", a))])
    error_message = "break_glass_user_arns must be IAM user ARNs."
  }
}

variable "break_glass_max_mfa_age_seconds" {
  type        = number
  description = "How recent the MFA sign-in of a break-glass admin must be."
  default     = 3600

  validation {
    condition     = var.break_glass_max_mfa_age_seconds >= 300 && var.break_glass_max_mfa_age_seconds <= 43200
    error_message = "break_glass_max_mfa_age_seconds must be between 300 and 43200."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every taggable resource."
  default     = {}
}
