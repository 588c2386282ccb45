variable "name" {
  type        = string
  description = "Prefix of the repository names (repositories are <name>/<repository>)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "repositories" {
  type        = list(string)
  description = "Repository names under the prefix: the rates API image and the PostgreSQL image of the ECS database option."
  default     = ["rates-api", "postgres"]

  validation {
    condition     = length(var.repositories) > 0 && alltrue([for r in var.repositories : can(regex("^[a-z0-9]+([._-][a-z0-9]+)*$", r))])
    error_message = "repositories must be a non-empty list of lowercase ECR repository names."
  }
}

variable "keep_tagged_images" {
  type        = number
  description = "How many tagged images each repository keeps; older ones expire."
  default     = 30

  validation {
    condition     = var.keep_tagged_images >= 1 && var.keep_tagged_images <= 1000
    error_message = "keep_tagged_images must be between 1 and 1000."
  }
}

variable "untagged_expiry_days" {
  type        = number
  description = "Days after which untagged images (failed or superseded pushes) expire."
  default     = 7

  validation {
    condition     = var.untagged_expiry_days >= 1
    error_message = "untagged_expiry_days must be at least 1."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key ARN that encrypts the repositories; null creates a dedicated key."
  default     = null
}

variable "force_delete" {
  type        = bool
  description = "Let terraform destroy delete repositories that still hold images (for throw-away environments)."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
