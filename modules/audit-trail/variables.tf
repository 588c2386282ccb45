variable "name" {
  type        = string
  description = "Name of the trail and prefix of the bucket and key (for example rotaudit-dev)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "create_trail" {
  type        = bool
  description = "Create the CloudTrail trail; false keeps only the bucket and key (the local emulator has no CloudTrail)."
  default     = true
}

variable "organization_id" {
  type        = string
  description = "AWS Organizations id (o-...) to make this an organization trail: every member account's events go to this bucket under AWSLogs/<organization id>/<account id>/. Apply it in the management account or a delegated administrator account of CloudTrail. Null: a trail of this account only."
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id must be an AWS Organizations id such as o-a1b2c3d4e5."
  }
}

variable "management_account_id" {
  type        = string
  description = "Account id of the organization's management account, which owns an organization trail even when a delegated administrator creates it (the trail's ARN names it). Null: the account applying this module. Only read with organization_id."
  default     = null

  validation {
    condition     = var.management_account_id == null || can(regex("^[0-9]{12}$", var.management_account_id))
    error_message = "management_account_id must be a 12-digit account id."
  }
}

variable "bucket_name" {
  type        = string
  description = "Name of the log bucket; null derives <name>-cloudtrail-<account id>."
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "include_read_events" {
  type        = bool
  description = "Log read-only management events too (GetSecretValue is a read event: leave it on)."
  default     = true
}

variable "transition_to_glacier_days" {
  type        = number
  description = "Days after which log files move to Glacier Flexible Retrieval; null keeps them in S3 Standard until they expire. Must be less than expiration_days (S3 refuses a rule that expires objects no later than it transitions them). Glacier bills at least 90 days per object, so a transition pays only when files stay well beyond it."
  default     = 90

  # checked: S3 accepts 0 or a positive whole number of days for a GLACIER transition
  # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Transition.html).
  validation {
    condition     = var.transition_to_glacier_days == null || try(var.transition_to_glacier_days >= 0 && floor(var.transition_to_glacier_days) == var.transition_to_glacier_days, false)
    error_message = "transition_to_glacier_days must be null or a whole number of days >= 0."
  }
}

variable "expiration_days" {
  type        = number
  description = "Days after which log files are deleted (and noncurrent versions after the same period); later than transition_to_glacier_days."
  default     = 2555

  validation {
    condition     = var.expiration_days >= 1 && floor(var.expiration_days) == var.expiration_days
    error_message = "expiration_days must be a whole number of days, at least 1."
  }
}

variable "object_lock_days" {
  type        = number
  description = "Days of COMPLIANCE-mode object lock on new log files; 0 turns object lock off. Object lock can only be switched on when the bucket is created."
  default     = 0

  validation {
    condition     = var.object_lock_days >= 0 && var.object_lock_days <= 36500
    error_message = "object_lock_days must be between 0 and 36500."
  }
}

variable "force_destroy" {
  type        = bool
  description = "Let terraform destroy empty the bucket (throw-away environments only)."
  default     = false
}

variable "access_log_bucket" {
  type        = string
  description = "Bucket that receives S3 server access logs of the trail bucket; null turns access logging off."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
