variable "environment" {
  type        = string
  description = "Environment name, part of every resource name (rotaudit-<environment>) and of the secrets' (rotaudit/<environment>/)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be 2 to 16 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "dist_dir" {
  type        = string
  description = "Folder holding rotator.zip, auditor.zip and dbbootstrap.zip from `make package`, relative to the calling root."
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
  description = "rds (managed PostgreSQL), ecs (PostgreSQL container on Fargate with EFS), or external (a server made elsewhere, external_database: the local stack's)."
  default     = "rds"

  validation {
    condition     = contains(["rds", "ecs", "external"], var.database_mode)
    error_message = "database_mode must be rds, ecs or external."
  }
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

# ------------------------------------------------------------------ what the roots pass in

variable "master_password_wo" {
  type        = string
  description = "First password of the master user (an ephemeral value: never in the plan or the state), given to the database and the admin secret write-only. Unused with database_mode external."
  default     = null
  sensitive   = true
  ephemeral   = true
}

# ------------------------------------------------------------------ switches of the local emulator
# Each default is what AWS gets; envs/local turns off what the emulators lack.

variable "external_database" {
  type = object({
    host              = string
    port              = number
    db_name           = string
    admin_secret_arn  = string
    admin_kms_key_arn = optional(string)
    tls               = optional(bool, true)
  })
  description = "The server of database_mode external, and its existing master secret (RDS JSON shape) with that secret's KMS key (null: aws/secretsmanager)."
  default     = null

  validation {
    condition     = var.external_database == null || can(regex("^arn:[a-z-]+:secretsmanager:", var.external_database.admin_secret_arn))
    error_message = "external_database.admin_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "app_username" {
  type        = string
  description = "The application's login role (APP_USERNAME); alternating users adds <app_username>_clone."
  default     = "rates_app"
}

variable "api_enabled" {
  type        = bool
  description = "Run the rates API on ECS (Fargate, with its load balancer). Off: no ECS at all (the emulators have none); app_reader_arns then name the readers."
  default     = true
}

variable "app_reader_arns" {
  type        = list(string)
  description = "Principals that may read the app secret besides the API's task role and application_roles' reader roles."
  default     = []
}

variable "create_ecr" {
  type        = bool
  description = "Make the ECR repositories (rates-api, postgres). The API and the ecs database mode need them."
  default     = true
}

variable "create_trail" {
  type        = bool
  description = "Make the CloudTrail trail (its bucket is made either way)."
  default     = true
}

variable "lambdas_in_vpc" {
  type        = bool
  description = "Attach the rotators and the bootstrap to the private subnets (how they reach PostgreSQL on AWS). Off only where the database is not in the VPC (the local stack)."
  default     = true
}

variable "secrets_manager_endpoint" {
  type        = string
  description = "Secrets Manager endpoint the functions call (SECRETS_MANAGER_ENDPOINT); null: the region's."
  default     = null
}

variable "kms_deletion_window_days" {
  type        = number
  description = "Waiting period before the secrets' KMS keys are deleted on destroy (7 to 30 days)."
  default     = 30
}

variable "management_rule_state" {
  type        = string
  description = "State of the audit's management-events rule: ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS delivers read-only calls such as GetSecretValue; emulators may know only ENABLED."
  default     = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
}

variable "db_log_group_name" {
  type        = string
  description = "With database_mode external: a CloudWatch Logs group made here and subscribed to the auditor, for the server's connection log; empty: none."
  default     = ""
}

variable "db_client_networks" {
  type        = list(string)
  description = "Where the database's clients connect from (the DB-xx rules); null: the VPC."
  default     = null
}


# ------------------------------------------------------------------ many databases

variable "databases" {
  type = map(object({
    mode = string
    external = optional(object({
      host              = string
      port              = number
      db_name           = string
      admin_secret_arn  = string
      admin_kms_key_arn = optional(string)
      tls               = optional(bool, true)
    }))
    app_users = list(object({
      username          = string
      strategy          = optional(string, "alternating-users")
      rotation_days     = optional(number)
      rotation_schedule = optional(string)
      reader_arns       = optional(list(string), [])
    }))
    rotate_master         = optional(bool, true)
    instance_class        = optional(string)
    allocated_storage_gb  = optional(number)
    multi_az              = optional(bool)
    aurora_instance_count = optional(number)
    log_group_name        = optional(string, "")
    client_networks       = optional(list(string))
    network = optional(object({
      subnet_ids         = list(string)
      security_group_ids = list(string)
    }))
  }))
  description = <<-EOT
    The databases of the environment, keyed by a short name (1-8 lowercase letters or digits, part of resource and secret names): mode (rds: an RDS instance; aurora: an Aurora PostgreSQL cluster, reached through its writer endpoint; ecs; or external), external (host, port, db_name, admin_secret_arn, admin_kms_key_arn, tls: the server and its existing master secret, for mode external), app_users (one or more, each with its own secret: username, strategy single-user or alternating-users, rotation_days or rotation_schedule, defaulting to rotation_days; reader_arns, principals besides app_reader_arns that may read this user's secret; distinct usernames, none another's _clone partner nor the master), rotate_master (false for all but one database sharing an external master secret), and per-database overrides of db_instance_class (aurora: db.t4g.medium when db_instance_class is a micro or small class, which Aurora does not run), db_allocated_storage_gb (rds only), db_multi_az (aurora: two instances, a writer and a reader), aurora_instance_count (aurora: instances in the cluster, default 2 with multi_az and 1 otherwise), db_log_group_name and db_client_networks; network (subnet_ids and security_group_ids: where the rotator and bootstrap of an external database that the environment's VPC does not reach run; the plan reads them, and stops when they are not all in one VPC, which Lambda would refuse).
    Every database gets its own secrets, bootstrap and (rds, aurora, ecs) server; they share the auditor and one rotator function per strategy and network: databases on the environment's network share rotaudit-<environment>-rotator-<strategy>, those with the same network share one named after it (-<strategy>-net<6 hex>), and where TLS and plaintext databases are mixed the plaintext ones get their own (-plaintext), so DB_ALLOW_PLAINTEXT is on only for the rotators that need it. The database keyed "rates" keeps a single-database deployment's names (rotaudit/<environment>/app); another's secrets are rotaudit/<environment>/<key>/app and its resources rotaudit-<environment>-<key>-*. A database's first app user has the app secret; each further one has <prefix>/app-<username>, with its own KMS key, the same grants from the database's bootstrap, and rotation by the shared rotator of its strategy; only the rotators, bootstrap, operators, break-glass and deployers may read it (not app_reader_arns).
    null (the default): one database "rates" from database_mode, external_database, app_username, app_rotation_strategy, rotation_days, db_log_group_name and db_client_networks.
  EOT
  default     = null

  validation {
    condition     = var.databases == null || length(coalesce(var.databases, {})) > 0
    error_message = "databases must hold at least one database, or be null for the single-database variables."
  }
  validation {
    condition     = alltrue([for k, d in coalesce(var.databases, {}) : can(regex("^[a-z][a-z0-9]{0,7}$", k))])
    error_message = "databases keys must be 1-8 lowercase letters or digits starting with a letter (they are part of function, key and secret names)."
  }
  validation {
    condition     = alltrue([for k, d in coalesce(var.databases, {}) : contains(["rds", "aurora", "ecs", "external"], d.mode)])
    error_message = "databases: mode must be rds, aurora, ecs or external."
  }
  validation {
    condition     = alltrue([for k, d in coalesce(var.databases, {}) : d.aurora_instance_count == null || d.mode == "aurora"])
    error_message = "databases: aurora_instance_count applies to mode aurora only."
  }
  validation {
    condition     = alltrue([for k, d in coalesce(var.databases, {}) : (d.mode == "external") == (d.external != null)])
    error_message = "databases: external (host, port, db_name, admin_secret_arn) is required with mode external and not allowed otherwise."
  }
  validation {
    condition     = alltrue([for k, d in coalesce(var.databases, {}) : d.external == null || can(regex("^arn:[a-z-]+:secretsmanager:", d.external.admin_secret_arn))])
    error_message = "databases: external.admin_secret_arn must be a Secrets Manager secret ARN."
  }
  validation {
    condition     = alltrue([for k, d in coalesce(var.databases, {}) : length(d.app_users) >= 1])
    error_message = "databases: app_users must hold at least one user (the first one's secret is <prefix>/app)."
  }
  # Usernames are part of secret names (<prefix>/app-<username>) and of role names (_clone).
  validation {
    condition     = alltrue(flatten([for k, d in coalesce(var.databases, {}) : [for u in d.app_users : can(regex("^[a-z_][a-z0-9_]{0,62}$", u.username)) && (u.strategy != "alternating-users" || length(u.username) <= 57)]]))
    error_message = "databases: app_users[*].username must be a lowercase PostgreSQL identifier (letters, digits, _), at most 57 characters with alternating-users so that <username>_clone fits in 63."
  }
  # One role, one secret: two secrets changing one role's password would undo each other,
  # and an alternating user's partner <username>_clone is a role of its own.
  validation {
    condition     = alltrue([for k, d in coalesce(var.databases, {}) : length(flatten([for u in d.app_users : u.strategy == "alternating-users" ? [u.username, "${u.username}_clone"] : [u.username]])) == length(distinct(flatten([for u in d.app_users : u.strategy == "alternating-users" ? [u.username, "${u.username}_clone"] : [u.username]])))])
    error_message = "databases: the app_users of a database must have distinct usernames, and none may be another alternating-users user's <username>_clone partner."
  }
  # The master of an rds, aurora or ecs database is rotaudit_admin (modules/database).
  validation {
    condition     = alltrue(flatten([for k, d in coalesce(var.databases, {}) : [for u in d.app_users : d.mode == "external" || !contains(["rotaudit_admin", "rdsadmin", "postgres"], u.username) && !contains(["rotaudit_admin", "rdsadmin", "postgres"], "${u.username}_clone")]]))
    error_message = "databases: app_users cannot list the master user (rotaudit_admin), rdsadmin or postgres, nor a user whose _clone is one of them."
  }
  validation {
    condition     = alltrue(flatten([for k, d in coalesce(var.databases, {}) : [for u in d.app_users : contains(["single-user", "alternating-users"], u.strategy)]]))
    error_message = "databases: app_users[*].strategy must be single-user or alternating-users."
  }
  validation {
    condition     = alltrue(flatten([for k, d in coalesce(var.databases, {}) : [for u in d.app_users : u.rotation_days == null || try(u.rotation_days >= 1 && u.rotation_days <= 90, false)]]))
    error_message = "databases: app_users[*].rotation_days must be between 1 and 90."
  }
  validation {
    condition     = alltrue(flatten([for k, d in coalesce(var.databases, {}) : [for u in d.app_users : u.rotation_schedule == null || can(regex("^(cron|rate)\\(.+\\)$", u.rotation_schedule))]]))
    error_message = "databases: app_users[*].rotation_schedule must be a cron(...) or rate(...) expression."
  }
  validation {
    condition     = alltrue(flatten([for k, d in coalesce(var.databases, {}) : [for u in d.app_users : [for a in u.reader_arns : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:(role|user)/.+$", a))]]]))
    error_message = "databases: app_users[*].reader_arns must be IAM role or user ARNs."
  }
  validation {
    condition     = alltrue([for k, d in coalesce(var.databases, {}) : d.network == null || try(length(d.network.subnet_ids) > 0 && length(d.network.security_group_ids) > 0 && alltrue([for id in d.network.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))]) && alltrue([for id in d.network.security_group_ids : can(regex("^sg-[0-9a-f]+$", id))]), false)])
    error_message = "databases: network needs at least one subnet id (subnet-...) and one security group id (sg-...)."
  }
  validation {
    condition     = alltrue([for k, d in coalesce(var.databases, {}) : d.network == null || d.mode == "external"])
    error_message = "databases: network applies to mode external only (rds, aurora and ecs databases are made in the environment's network)."
  }
  # Two rotations of one secret would fight, and both would add the same invoke permission.
  validation {
    condition     = length([for k, d in coalesce(var.databases, {}) : d.external.admin_secret_arn if d.external != null && d.rotate_master]) == length(distinct([for k, d in coalesce(var.databases, {}) : d.external.admin_secret_arn if d.external != null && d.rotate_master]))
    error_message = "databases: two databases with rotate_master = true share one external master secret; set rotate_master = false on all but one of them."
  }
}

variable "api_database" {
  type        = string
  description = "Key of the database (in databases) whose app secret the rates API on ECS reads, and that db_access_iam's application roles and rotate roles reach (operators, break-glass and auditors reach every database)."
  default     = "rates"

  validation {
    condition     = var.databases == null ? var.api_database == "rates" : contains(keys(coalesce(var.databases, {})), var.api_database)
    error_message = "api_database must be a key of databases (\"rates\" without databases)."
  }
}
