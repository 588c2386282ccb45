variable "name" {
  type        = string
  description = "Name prefix of every database resource (for example rotaudit-dev)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "engine_mode" {
  type        = string
  description = "Where PostgreSQL runs: rds (an RDS instance, recommended for production), aurora (an Aurora PostgreSQL cluster with aurora_instance_count instances) or ecs (a container on Fargate with its data on EFS, the original design)."
  default     = "rds"

  validation {
    condition     = contains(["rds", "aurora", "ecs"], var.engine_mode)
    error_message = "engine_mode must be rds, aurora or ecs."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC the database lives in."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets for the database (at least two zones)."

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids needs at least two subnets in different zones."
  }
}

variable "security_group_id" {
  type        = string
  description = "Security group of the database (the network module's database group: open to the API, the rotator and the admin path only)."
}

variable "db_name" {
  type        = string
  description = "Name of the application database."
  default     = "rates"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must be a lowercase PostgreSQL identifier of at most 63 characters."
  }
}

variable "master_username" {
  type        = string
  description = "Master role created with the server; it owns the rates tables and is the rotation master."
  default     = "rotaudit_admin"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.master_username)) && !contains(["postgres", "rdsadmin", "admin"], var.master_username)
    error_message = "master_username must be a lowercase PostgreSQL identifier and not a reserved name (postgres, rdsadmin, admin)."
  }
}

variable "engine_version" {
  type        = string
  description = "PostgreSQL major version (RDS or Aurora PostgreSQL engine version, and the tag of the ECS image)."
  default     = "16"

  validation {
    condition     = can(regex("^1[5-9](\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version must be PostgreSQL 15 or later, such as 16 or 16.4."
  }
}

variable "instance_class" {
  type        = string
  description = "RDS instance class (rds mode), or the class of every cluster instance (aurora mode: db.t4g.medium or larger)."
  default     = "db.t4g.micro"

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "instance_class must be an RDS class such as db.t4g.micro."
  }
  # Aurora PostgreSQL has no micro or small class; the default would fail only at apply.
  validation {
    condition     = var.engine_mode != "aurora" || !can(regex("^db\\.t[0-9]g?\\.(micro|small)$", var.instance_class))
    error_message = "instance_class: Aurora PostgreSQL runs on db.t4g.medium or larger, not on micro or small classes."
  }
}

variable "allocated_storage_gb" {
  type        = number
  description = "Initial RDS storage in GB (rds mode)."
  default     = 20

  validation {
    condition     = var.allocated_storage_gb >= 20 && var.allocated_storage_gb <= 65536
    error_message = "allocated_storage_gb must be between 20 and 65536."
  }
}

variable "max_allocated_storage_gb" {
  type        = number
  description = "Storage autoscaling ceiling in GB (rds mode); 0 turns autoscaling off."
  default     = 100
}

variable "multi_az" {
  type        = bool
  description = "Run a standby in a second zone (rds mode; production); in aurora mode, the default of aurora_instance_count becomes 2 (writer and reader)."
  default     = false
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to delete the database (RDS instance or Aurora cluster deletion protection; for ECS mode, EFS data is kept by prevent_destroy in production roots)."
  default     = true
}

variable "backup_retention_days" {
  type        = number
  description = "Days of automated RDS backups (rds and aurora modes)."
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 1 and 35."
  }
}

variable "skip_final_snapshot" {
  type        = bool
  description = "Delete without a final snapshot (throw-away environments only)."
  default     = false
}

variable "monitoring_interval" {
  type        = number
  description = "Enhanced monitoring interval in seconds (rds mode, and each aurora instance); 0 turns it off."
  default     = 60

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.monitoring_interval)
    error_message = "monitoring_interval must be one of 0, 1, 5, 10, 15, 30, 60."
  }
}

variable "retain_kms_key" {
  type        = bool
  description = "Keep the module's own KMS key when the database is destroyed: the final snapshot (and, in ecs mode, the EFS backups) are encrypted with it and become unreadable once the key is deleted. null means: keep it whenever a final snapshot is kept (skip_final_snapshot = false). A kept key makes terraform destroy refuse to run until the key leaves the state: terraform state rm 'module.database.module.key[0]' (the key stays in the account, and its alias); delete it yourself once no snapshot needs it."
  default     = null

  validation {
    condition     = var.retain_kms_key != false || var.skip_final_snapshot || var.kms_key_arn != null
    error_message = "retain_kms_key = false with a final snapshot (skip_final_snapshot = false) schedules the deletion of the only key that can read that snapshot: keep the key, skip the snapshot, or pass a key of your own in kms_key_arn."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key for storage, Performance Insights and EFS; null creates a dedicated key."
  default     = null
}

variable "ecs_cluster_arn" {
  type        = string
  description = "ECS cluster for the ecs mode (usually the api-service cluster); ignored in rds mode."
  default     = null
}

variable "ecs_image" {
  type        = string
  description = "PostgreSQL container image for the ecs mode (the ECR postgres repository with a tag)."
  default     = null
}

variable "ecs_cpu" {
  type        = number
  description = "Fargate CPU units of the PostgreSQL task (ecs mode)."
  default     = 512
}

variable "ecs_memory_mb" {
  type        = number
  description = "Fargate memory in MB of the PostgreSQL task (ecs mode)."
  default     = 1024
}

variable "ecs_master_secret_arn" {
  type        = string
  description = "Secret whose password key seeds POSTGRES_PASSWORD at first start (ecs mode; the admin secret)."
  default     = null
}

variable "log_retention_days" {
  type        = number
  description = "Days to keep the PostgreSQL logs in CloudWatch."
  default     = 365
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

variable "ecs_master_secret_kms_key_arn" {
  type        = string
  description = "KMS key of ecs_master_secret_arn, which the task's execution role may decrypt (ecs mode)."
  default     = null
}

variable "master_password_wo" {
  type        = string
  description = "First password of the master role (rds and aurora modes), written write-only: pass an ephemeral value, the one the admin secret is seeded with. Never stored in the plan or the state."
  default     = null
  sensitive   = true
  ephemeral   = true
}

variable "master_password_wo_version" {
  type        = number
  description = "Version of master_password_wo: RDS receives the password at creation and again whenever this number changes."
  default     = 1
}

variable "aurora_instance_count" {
  type        = number
  description = "Instances of the Aurora cluster (aurora mode): the first is the writer, the others readers it fails over to. null: 2 with multi_az (writer and reader), 1 otherwise."
  default     = null

  validation {
    condition     = var.aurora_instance_count == null || try(var.aurora_instance_count >= 1 && var.aurora_instance_count <= 16 && floor(var.aurora_instance_count) == var.aurora_instance_count, false)
    error_message = "aurora_instance_count must be a whole number between 1 and 16 (Aurora's limit: a writer and 15 readers)."
  }
}
