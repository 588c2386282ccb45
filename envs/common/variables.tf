variable "environment" {
  type        = string
  description = "Environment name: dev, stage or prod (part of every resource name)."

  validation {
    condition     = contains(["dev", "stage", "prod"], var.environment)
    error_message = "environment must be dev, stage or prod."
  }
}

variable "region" {
  type        = string
  description = "AWS region of the environment."

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "allowed_account_ids" {
  type        = list(string)
  description = "AWS account ids this root may be applied to (a guard against the wrong credentials); empty allows any."
  default     = []

  validation {
    condition     = alltrue([for a in var.allowed_account_ids : can(regex("^[0-9]{12}$", a))])
    error_message = "allowed_account_ids must be 12-digit account ids."
  }
}

variable "tags" {
  type        = map(string)
  description = "Extra tags on every resource (Project, Environment and ManagedBy are always set)."
  default     = {}
}

variable "dist_dir" {
  type        = string
  description = "Folder holding rotator.zip, auditor.zip and dbbootstrap.zip from `make package`, relative to this root."
  default     = "../../dist"
}

variable "vpc_cidr" {
  type        = string
  description = "CIDR block of the VPC (a /16; subnets are /24 slices of it)."
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && endswith(var.vpc_cidr, "/16")
    error_message = "vpc_cidr must be a /16 IPv4 block such as 10.40.0.0/16."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zones of the environment, named explicitly so that a zone AWS adds later never reshapes the network (2 or 3)."

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3
    error_message = "availability_zones must name 2 or 3 zones."
  }
}

variable "public_load_balancer" {
  type        = bool
  description = "Put the API's load balancer in public subnets (internet-facing); false keeps it internal."
  default     = false
}

variable "enable_secretsmanager_endpoint" {
  type        = bool
  description = "Secrets Manager VPC endpoint (needed by the API and the rotator when there is no NAT)."
  default     = true
}

variable "enable_logs_endpoint" {
  type        = bool
  description = "CloudWatch Logs VPC endpoint (needed by the ECS tasks when there is no NAT)."
  default     = true
}

variable "enable_ecr_endpoints" {
  type        = bool
  description = "ECR API and Docker VPC endpoints (needed by Fargate to pull images when there is no NAT)."
  default     = true
}

variable "enable_s3_endpoint" {
  type        = bool
  description = "S3 gateway endpoint (free; ECR layers come from S3)."
  default     = true
}

variable "enable_kms_endpoint" {
  type        = bool
  description = "KMS VPC endpoint (not needed by the current code paths)."
  default     = false
}

variable "admin_cidr_blocks" {
  type        = list(string)
  description = "CIDR blocks of the admin access path to PostgreSQL (VPN, bastion)."
  default     = []
}

variable "database_mode" {
  type        = string
  description = "rds (managed PostgreSQL) or ecs (PostgreSQL container on Fargate with EFS)."
  default     = "rds"
}

variable "postgres_version" {
  type        = string
  description = "PostgreSQL major version."
  default     = "16"
}

variable "postgres_image_tag" {
  type        = string
  description = "Tag of the PostgreSQL image in ECR (ecs database mode)."
  default     = "16"
}

variable "db_instance_class" {
  type        = string
  description = "RDS instance class."
  default     = "db.t4g.micro"
}

variable "db_allocated_storage_gb" {
  type        = number
  description = "Initial RDS storage in GB."
  default     = 20
}

variable "db_multi_az" {
  type        = bool
  description = "RDS Multi-AZ standby."
  default     = false
}

variable "db_deletion_protection" {
  type        = bool
  description = "RDS deletion protection."
  default     = true
}

variable "db_backup_retention_days" {
  type        = number
  description = "Days of automated RDS backups."
  default     = 7
}

variable "db_skip_final_snapshot" {
  type        = bool
  description = "Delete the RDS instance without a final snapshot."
  default     = false
}

variable "db_ca_bundle" {
  type        = string
  description = "Path inside the rotator of the RDS CA bundle (DB_CA_BUNDLE); empty uses the system roots."
  default     = ""
}

variable "api_image_tag" {
  type        = string
  description = "Immutable tag of the rates API image in ECR (the CI build's version)."

  validation {
    condition     = var.api_image_tag != "latest" && length(var.api_image_tag) > 0
    error_message = "api_image_tag must be an explicit, immutable tag, not latest."
  }
}

variable "api_cpu" {
  type        = number
  description = "Fargate CPU units per API task."
  default     = 256
}

variable "api_memory_mb" {
  type        = number
  description = "Fargate memory per API task in MB."
  default     = 512
}

variable "api_min_tasks" {
  type        = number
  description = "Autoscaling floor of the API."
  default     = 2
}

variable "api_max_tasks" {
  type        = number
  description = "Autoscaling ceiling of the API."
  default     = 6
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate of the HTTPS listener; null serves HTTP only (internal dev)."
  default     = null

  validation {
    condition     = var.certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN or null."
  }
}

variable "lb_access_logs" {
  type        = bool
  description = "Keep the load balancer's access logs in a bucket of their own (SSE-S3, kept lb_access_logs_days). Off: the requests that reached the API leave no record but the API's own log."
  default     = false
}

variable "lb_access_logs_days" {
  type        = number
  description = "Days the load balancer's access logs are kept (with lb_access_logs)."
  default     = 365
}

variable "lb_deletion_protection" {
  type        = bool
  description = "Load balancer deletion protection."
  default     = true
}

variable "ecr_force_delete" {
  type        = bool
  description = "Let terraform destroy delete ECR repositories that hold images."
  default     = false
}

variable "app_rotation_strategy" {
  type        = string
  description = "How the app secret rotates: alternating-users or single-user. The master always rotates single-user."
  default     = "alternating-users"
}

variable "invoke_bootstrap" {
  type        = bool
  description = "Run the database bootstrap from Terraform once its function exists (creates the schema, the app role and the app secret's first password)."
  default     = true
}

variable "break_glass_role_arns" {
  type        = list(string)
  description = "Break-glass IAM roles that may read the database secrets in an emergency (each read is reported by the auditor)."
  default     = []
}

variable "db_operator_user_arns" {
  type        = list(string)
  description = "IAM users of the db-operators group (MFA): made its members, and excepted from every app secret's deny policy (every database's, every app user's) so they can read and rotate them. Terraform owns the group's membership."
  default     = []
}

variable "break_glass_user_arns" {
  type        = list(string)
  description = "IAM users of the break-glass group (MFA): made its members, and excepted from both secrets' deny policy. Every read by them raises RA-01, as for break_glass_role_arns."
  default     = []
}

variable "audit_table_deletion_protection" {
  type        = bool
  description = "Deletion protection of the audit state table."
  default     = true
}

variable "rotation_days" {
  type        = number
  description = "Days between automatic rotations."
  default     = 30
}

variable "rotation_window" {
  type        = string
  description = "Rotation window length, such as 3h."
  default     = "3h"
}

variable "secret_recovery_window_days" {
  type        = number
  description = "Days a deleted secret stays recoverable (0 for throw-away environments)."
  default     = 30
}

variable "log_retention_days" {
  type        = number
  description = "Days every log group keeps its logs."
  default     = 365
}

variable "trail_object_lock_days" {
  type        = number
  description = "Days of COMPLIANCE object lock on CloudTrail log files (0 = off; only settable at bucket creation)."
  default     = 0
}

variable "trail_expiration_days" {
  type        = number
  description = "Days CloudTrail log files are kept; later than trail_transition_to_glacier_days."
  default     = 2555
}

variable "trail_transition_to_glacier_days" {
  type        = number
  description = "Days after which CloudTrail log files move to Glacier Flexible Retrieval; null keeps them in S3 Standard until they expire (for short retention: Glacier bills at least 90 days per object). Must be less than trail_expiration_days."
  default     = 90
}

variable "trail_force_destroy" {
  type        = bool
  description = "Let terraform destroy empty the CloudTrail bucket."
  default     = false
}

variable "alert_subscriptions" {
  type = list(object({
    protocol = string
    endpoint = string
  }))
  description = "Subscriptions of the audit alert topic."
  default     = []
}

variable "deployer_arns" {
  type        = list(string)
  description = "Every IAM principal that runs Terraform on this environment (each operator's role or user, the CI role): the audit rules treat their changes as routine, and the secrets' deny policy lets them read values (the provider reads the versions it manages on every plan). The principal running Terraform is exempted only for its own run: a second operator or CI role is denied GetSecretValue during plan (AccessDeniedException, explicit deny in a resource-based policy) until it is listed here and applied by someone already listed. The plan warns (check deployer_is_listed) when the running principal is missing."
  default     = []
}

variable "application_roles" {
  type = map(object({
    service = string
    access  = string
  }))
  description = "Extra application roles with access to the app secret (see modules/db-access-iam)."
  default     = {}
}

variable "generate_master_password" {
  type        = bool
  description = "Generate the master password (ephemeral, GetRandomPassword) for the database and the admin secret. Only the plan tests turn it off (mock providers cannot run ephemeral resources); an apply without it fails."
  default     = true
}

# ------------------------------------------------------------------ what a cheap dev switches off
# Each default keeps the production shape; envs/README.md ("What it costs") says what each
# saving gives up.

variable "egress" {
  type        = string
  description = "How the tasks and the rotator reach AWS APIs: endpoints (interface VPC endpoints, no internet path), nat (one NAT gateway), or public (API tasks in public subnets with public addresses; the rotator still needs the Secrets Manager endpoint)."
  default     = "endpoints"

  validation {
    condition     = contains(["endpoints", "nat", "public"], var.egress)
    error_message = "egress must be endpoints, nat or public."
  }
}

variable "interface_endpoint_zones" {
  type        = number
  description = "Zones the interface endpoints are placed in (the first ones); 0 = every zone. 1 saves the other zones' hourly charge and gives up the endpoints' zone redundancy."
  default     = 0
}

variable "api_load_balancer" {
  type        = bool
  description = "Put an Application Load Balancer in front of the API; false reaches the task at its own address (one task: no stable name, no health-checked routing, no TLS)."
  default     = true
}

variable "api_ingress_cidr_blocks" {
  type        = list(string)
  description = "CIDR blocks that may reach the API tasks on port 3000 directly (with api_load_balancer = false)."
  default     = []
}

variable "container_insights" {
  type        = bool
  description = "Container Insights on the ECS cluster (per-task metrics, billed as custom metrics)."
  default     = true
}

variable "flow_log_traffic_type" {
  type        = string
  description = "VPC flow log traffic: ALL, ACCEPT or REJECT."
  default     = "ALL"
}

variable "s3_backfill" {
  type        = bool
  description = "Invoke the auditor for every CloudTrail log file written to the trail bucket as well (modules/audit-alerts s3_backfill). Off: EventBridge is the live path and each record would be processed twice; turn it on only to backfill, and off again afterwards."
  default     = false
}

variable "backfill_enabled" {
  type        = bool
  description = "Make the backfill's SQS FIFO queue, its dead-letter queue and the auditor's event source mapping (modules/audit-alerts backfill_enabled), for `rotaudit audit backfill` (docs/backfill.md). Off when no backfill runs."
  default     = false
}

variable "backfill_max_concurrency" {
  type        = number
  description = "Maximum concurrency of the backfill's event source mapping: how many auditors read the queue at once (modules/audit-alerts backfill_max_concurrency, 2-1000)."
  default     = 10
}
