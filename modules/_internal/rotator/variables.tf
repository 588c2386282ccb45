variable "name" {
  type        = string
  description = "Name of the function, and of its IAM role and log group (/aws/lambda/NAME)."

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1 to 64 letters, digits, hyphens or underscores (a Lambda and IAM role name)."
  }
}

variable "description" {
  type        = string
  description = "Description of the function: which secrets it rotates."

  validation {
    condition     = length(var.description) <= 256
    error_message = "description must be at most 256 characters (Lambda's limit)."
  }
}

variable "strategy" {
  type        = string
  description = "The rotation strategy of this function (ROTATION_STRATEGY): single-user or alternating-users."

  validation {
    condition     = contains(["single-user", "alternating-users"], var.strategy)
    error_message = "strategy must be single-user or alternating-users."
  }
}

variable "rotated_secret_arns" {
  type        = list(string)
  description = "ARNs of the secrets this function rotates (the RotateSecrets statement)."

  validation {
    condition     = length(var.rotated_secret_arns) > 0
    error_message = "rotated_secret_arns must name at least one secret."
  }
}

variable "master_secret_arns" {
  type        = list(string)
  description = "ARNs of the master secrets an alternating-users function acts with: it may read them (ReadMasterSecret) and refuses a masterarn outside them (MASTER_SECRET_ARNS). Empty for single-user. Duplicates are dropped."
  default     = []
}

variable "kms_key_arns" {
  type        = list(string)
  description = "Customer-managed keys of the rotated and master secrets, used only through Secrets Manager (UseSecretKeys); secrets on aws/secretsmanager need none. Duplicates are dropped."
  default     = []
}

variable "zip_path" {
  type        = string
  description = "Path of the rotator zip built by `make package` (dist/rotator.zip)."

  validation {
    condition     = endswith(var.zip_path, ".zip")
    error_message = "zip_path must point at a .zip file (run make package)."
  }
}

variable "memory_mb" {
  type        = number
  description = "Memory of the rotator in MB (128 is plenty: it holds one secret and one connection at a time)."
  default     = 128
}

variable "timeout_seconds" {
  type        = number
  description = "Timeout of one rotation step in seconds."
  default     = 30
}

variable "reserved_concurrency" {
  type        = number
  description = "Reserved concurrent executions of the rotator; null leaves it in the unreserved pool (new accounts cannot reserve)."
  default     = null
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets the function runs in (it must reach PostgreSQL); empty runs it outside a VPC."
  default     = []
}

variable "security_group_ids" {
  type        = list(string)
  description = "Security groups of the rotator (the network module's rotator group, which may reach PostgreSQL and Secrets Manager)."
  default     = []
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the rotator's logs (each rotation step logs its secret and outcome)."
}

variable "log_kms_key_arn" {
  type        = string
  description = "KMS key encrypting the rotator's log group; null uses CloudWatch's own encryption."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags for the rotator's function, role and log group."
  default     = {}
}

# The rotator's settings. The defaults are modules/secret-rotation's (internal/tfcheck keeps
# them equal), so a caller that exposes none of them gets that module's behaviour.

variable "secrets_manager_endpoint" {
  type        = string
  description = "Secrets Manager endpoint the function calls (SECRETS_MANAGER_ENDPOINT); null uses the regional https endpoint."
  default     = null
}

variable "password_length" {
  type        = number
  description = "Length of generated passwords (PASSWORD_LENGTH)."
  default     = 32

  validation {
    condition     = var.password_length >= 16 && var.password_length <= 99
    error_message = "password_length must be between 16 and 99."
  }
}

variable "exclude_characters" {
  type        = string
  description = "Characters generated passwords never contain (EXCLUDE_CHARACTERS)."
  default     = "/@\"'\\ :%?#&"
}

variable "exclude_numbers" {
  type        = bool
  description = "EXCLUDE_NUMBERS: no digits in generated passwords."
  default     = false
}

variable "exclude_punctuation" {
  type        = bool
  description = "EXCLUDE_PUNCTUATION: no punctuation in generated passwords."
  default     = false
}

variable "exclude_uppercase" {
  type        = bool
  description = "EXCLUDE_UPPERCASE: no uppercase letters in generated passwords."
  default     = false
}

variable "exclude_lowercase" {
  type        = bool
  description = "EXCLUDE_LOWERCASE: no lowercase letters in generated passwords."
  default     = false
}

variable "require_each_included_type" {
  type        = bool
  description = "REQUIRE_EACH_INCLUDED_TYPE: at least one character of each included type."
  default     = true
}

variable "test_query" {
  type        = string
  description = "Query run with the new credentials before they are promoted (TEST_QUERY)."
  default     = "SELECT 1"

  validation {
    condition     = trimspace(var.test_query) != ""
    error_message = "test_query must not be empty (the rotator refuses an empty TEST_QUERY)."
  }
}

variable "db_ca_bundle" {
  type        = string
  description = "Path inside the Lambda of the PEM bundle that verifies the server certificate (DB_CA_BUNDLE); empty for the built-in authorities."
  default     = ""
}

variable "db_allow_plaintext" {
  type        = bool
  description = "DB_ALLOW_PLAINTEXT: connect without TLS when the server refuses it (the ECS database option, the local stack)."
  default     = false
}

variable "db_allow_insecure_password_auth" {
  type        = bool
  description = "DB_ALLOW_INSECURE_PASSWORD_AUTH: answer a server asking for a cleartext or MD5 password."
  default     = false
}

variable "allow_privileged_users" {
  type        = bool
  description = "ALLOW_PRIVILEGED_USERS: alternating users may clone a user with CREATEROLE, REPLICATION or BYPASSRLS."
  default     = false
}

variable "clone_member_of_user" {
  type        = bool
  description = "CLONE_MEMBER_OF_USER: alternating users make the clone a member of the user."
  default     = false
}
