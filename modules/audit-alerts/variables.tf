variable "name" {
  type        = string
  description = "Name prefix of the Lambda, rules, table, topic and queue (for example rotaudit-dev)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "lambda_zip_path" {
  type        = string
  description = "Path of the auditor zip built by `make package` (dist/auditor.zip)."

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must point at a .zip file (run make package)."
  }
}

variable "lambda_tracing" {
  type        = bool
  description = "Trace the audit Lambda with X-Ray (active tracing). Off by default: it is invoked once per audited event, and at 10M CloudTrail events a month the traces cost more than the rest of the pipeline; its JSON logs carry each request id."
  default     = false
}

variable "lambda_memory_mb" {
  type        = number
  description = "Memory of the audit Lambda in MB (whole CloudTrail log files are streamed, not loaded)."
  default     = 256

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240
    error_message = "lambda_memory_mb must be between 128 and 10240."
  }
}

variable "lambda_timeout_seconds" {
  type        = number
  description = "Timeout of one invocation in seconds (a log file of a busy account can take a while)."
  default     = 120

  validation {
    condition     = var.lambda_timeout_seconds >= 5 && var.lambda_timeout_seconds <= 900
    error_message = "lambda_timeout_seconds must be between 5 and 900."
  }
}

variable "watched_secret_arns" {
  type        = list(string)
  description = "ARNs of the database secrets whose use the audit rules follow (watched_secrets in the audit configuration)."

  validation {
    condition     = length(var.watched_secret_arns) > 0 && alltrue([for a in var.watched_secret_arns : startswith(a, "arn:")])
    error_message = "watched_secret_arns must be a non-empty list of secret ARNs."
  }
}

variable "kms_key_arns" {
  type        = list(string)
  description = "ARNs of the KMS keys that encrypt the watched secrets (kms_keys)."
  default     = []
}

variable "reader_arns" {
  type        = list(string)
  description = "IAM principals allowed to read the watched secrets, such as the API task role (readers)."
  default     = []
}

variable "rotator_arns" {
  type        = list(string)
  description = "IAM principals allowed to change the watched secrets, such as the rotation Lambda role (rotators)."
  default     = []
}

variable "deployer_arns" {
  type        = list(string)
  description = "IAM principals that change configuration as routine, such as the Terraform role (deployers)."
  default     = []
}

variable "trusted_networks" {
  type        = list(string)
  description = "CIDR blocks whose source addresses never count as a new network (trusted_networks)."
  default     = []

  validation {
    condition     = alltrue([for c in var.trusted_networks : can(cidrhost(c, 0))])
    error_message = "trusted_networks must hold CIDR blocks such as 10.40.0.0/16."
  }
}

variable "ecs_families" {
  type        = list(string)
  description = "ECS task definition families of the API and the database whose changes are audited (ecs.families)."
  default     = []
}

variable "ecs_clusters" {
  type        = list(string)
  description = "ECS clusters whose changes are audited (ecs.clusters)."
  default     = []
}

variable "ecs_registries" {
  type        = list(string)
  description = "Image prefixes releases come from, such as an ECR repository URL followed by \":\" (ecs.registries); an image from anywhere else in a task definition is flagged. Empty: any registry."
  default     = []

  validation {
    condition     = alltrue([for r in var.ecs_registries : length(r) > 0 && !strcontains(r, " ")])
    error_message = "ecs_registries entries must be non-empty image prefixes without spaces, such as 111122223333.dkr.ecr.eu-west-1.amazonaws.com/rotaudit-prod/rates-api:."
  }
}

variable "trails" {
  type = list(object({
    arn    = string
    bucket = string
  }))
  description = "Trails the audit depends on, with the bucket each delivers to (trails); tampering with them or their buckets is flagged. Empty: every trail counts, and buckets are learnt from the trails' CreateTrail and UpdateTrail events and deliveries."
  default     = []

  validation {
    condition     = alltrue([for t in var.trails : can(regex("^arn:[a-z-]+:cloudtrail:[a-z0-9-]+:[0-9]{12}:trail/.+$", t.arn))])
    error_message = "trails[*].arn must be a trail ARN (arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME)."
  }
  validation {
    condition     = alltrue([for t in var.trails : can(regex("^[a-z0-9.-]{3,63}$", t.bucket))])
    error_message = "trails[*].bucket must be an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "databases" {
  type        = list(string)
  description = "RDS instance or cluster identifiers (or ARNs) of the database (databases), whose snapshots, master password and settings the RDS rules follow. Empty: every database in the account is watched."
  default     = []

  validation {
    condition     = alltrue([for d in var.databases : can(regex("^[^\\s]+$", d))])
    error_message = "databases entries must be non-empty DB instance or cluster identifiers without spaces."
  }
}

variable "vpc_endpoint_ids" {
  type        = list(string)
  description = "Secrets Manager interface endpoints (vpce-...) the readers and rotators call through (vpc_endpoints); a call of theirs through none of them is flagged (RA-13). Empty: no endpoint is required."
  default     = []

  validation {
    condition     = alltrue([for v in var.vpc_endpoint_ids : startswith(v, "vpce-")])
    error_message = "vpc_endpoint_ids entries must be VPC endpoint ids (vpce-...)."
  }
}

variable "db_logins" {
  type = object({
    users           = optional(list(string))
    admin_users     = optional(list(string))
    ignore_users    = optional(list(string))
    client_networks = optional(list(string))
    # Lists of two role names: Terraform has no fixed-length list type.
    alternating_pairs = optional(list(list(string)))
    failure_burst = optional(object({
      count  = number
      window = string
    }))
    admin_window = optional(string)
    stale_after  = optional(string)
  })
  description = "What the DB-xx rules know of the database's logins (db_logins): the watched secrets' users, the admin users, platform users to ignore, the clients' subnets, the alternating pairs, and thresholds. Unset: the DB-xx rules stay off and the key is left out."
  default     = {}

  validation {
    condition     = alltrue([for c in coalesce(var.db_logins.client_networks, []) : can(cidrhost(c, 0))])
    error_message = "db_logins.client_networks must hold CIDR blocks such as 10.0.1.0/24."
  }
  validation {
    condition     = alltrue([for p in coalesce(var.db_logins.alternating_pairs, []) : length(p) == 2 && length(distinct(p)) == 2 && alltrue([for u in p : u != ""])])
    error_message = "db_logins.alternating_pairs entries must be two different role names."
  }
  validation {
    condition     = var.db_logins.failure_burst == null || try(var.db_logins.failure_burst.count >= 2, false)
    error_message = "db_logins.failure_burst.count must be at least 2."
  }
  validation {
    condition = alltrue([for v in [var.db_logins.admin_window, var.db_logins.stale_after, try(var.db_logins.failure_burst.window, null)] :
    v == null || can(regex("^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+$", v))])
    error_message = "db_logins durations (admin_window, stale_after, failure_burst.window) must be Go duration strings such as 15m or 24h."
  }
}

variable "member_account_ids" {
  type        = list(string)
  description = "Member accounts of an organization whose events reach this auditor (modules/org-member, modules/org-central). Set, the configuration names this account (account_id) and these (member_accounts), and the auditor skips records of any other account. Empty: a single-account deployment."
  default     = []

  validation {
    condition     = alltrue([for a in var.member_account_ids : can(regex("^[0-9]{12}$", a))])
    error_message = "member_account_ids must be 12-digit account ids."
  }
}

variable "audit_settings" {
  type = object({
    learning_period      = optional(string)
    baseline_ttl         = optional(string)
    dedup_window         = optional(string)
    cross_account_window = optional(string)
  })
  description = "Durations of the audit configuration as Go duration strings (\"168h\"); unset keeps the auditor's defaults. cross_account_window is RA-21's, for an organization's auditor."
  default     = {}

  validation {
    condition     = alltrue([for v in values(var.audit_settings) : v == null || can(regex("^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+$", v))])
    error_message = "audit_settings durations must be Go duration strings such as 168h, 90m or 0s."
  }
}

variable "audit_config_file" {
  type        = string
  description = "Path inside the Lambda of a configuration document to use instead of the generated one (AUDIT_CONFIG_FILE); empty uses the generated document."
  default     = ""
}

variable "management_rule_state" {
  type        = string
  description = "State of the management-events rule: ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS also delivers read-only calls such as GetSecretValue."
  default     = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"

  validation {
    condition     = contains(["ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", "DISABLED"], var.management_rule_state)
    error_message = "management_rule_state must be ENABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS or DISABLED."
  }
}

variable "enable_iam_rule" {
  type        = bool
  description = "Create the IAM-events rule in us-east-1 (IAM is global and only delivers there)."
  default     = true
}

variable "s3_backfill" {
  type        = bool
  description = "Also invoke the Lambda for every CloudTrail log file written to trail_bucket_name (whole-file processing). Off by default: EventBridge is the live path, and with both on each record is processed twice. Turn it on for a backfill (see the S3 section of main.tf) and off again afterwards. The module then owns the bucket's notification configuration. A boolean of its own because the bucket name may be unknown until apply."
  default     = false
}

variable "trail_bucket_name" {
  type        = string
  description = "CloudTrail log bucket whose ObjectCreated events invoke the Lambda when s3_backfill is true."
  default     = null
}

variable "deletion_protection" {
  type        = bool
  description = "Deletion protection of the audit state table (on in long-lived environments, off where terraform destroy must work)."
  default     = true
}

variable "trail_kms_key_arn" {
  type        = string
  description = "KMS key of the CloudTrail log files, which the Lambda may decrypt; null when the bucket uses S3-managed keys."
  default     = null
}

variable "alert_subscriptions" {
  type = list(object({
    protocol = string
    endpoint = string
  }))
  description = "Subscriptions of the alert topic, such as { protocol = \"email\", endpoint = \"secops@example.com\" }."
  default     = []

  validation {
    condition     = alltrue([for s in var.alert_subscriptions : contains(["email", "email-json", "https", "sqs", "lambda", "sms"], s.protocol)])
    error_message = "alert_subscriptions protocols must be email, email-json, https, sqs, lambda or sms."
  }
}

variable "dlq_retention_seconds" {
  type        = number
  description = "How long failed events stay in the dead-letter queue."
  default     = 1209600

  validation {
    condition     = var.dlq_retention_seconds >= 60 && var.dlq_retention_seconds <= 1209600
    error_message = "dlq_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days to keep the audit Lambda's logs."
  default     = 365
}

variable "log_kms_key_arn" {
  type        = string
  description = "KMS key ARN for the auditor's log group; null uses the CloudWatch Logs default encryption."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

variable "db_log_groups_managed" {
  type        = list(string)
  description = "CloudWatch Logs groups of PostgreSQL's log to create here with retention and KMS, and subscribe the auditor to (the RDS export's /aws/rds/instance/IDENTIFIER/postgresql)."
  default     = []

  validation {
    condition     = alltrue([for g in var.db_log_groups_managed : can(regex("^[A-Za-z0-9_/.#-]{1,512}$", g))])
    error_message = "db_log_groups_managed entries must be CloudWatch Logs group names (letters, digits, _ / . # -)."
  }
}

variable "db_log_group_names" {
  type        = list(string)
  description = "Existing CloudWatch Logs groups carrying PostgreSQL's log (such as the ECS database task's awslogs group) to subscribe the auditor to."
  default     = []

  validation {
    condition     = alltrue([for g in var.db_log_group_names : can(regex("^[A-Za-z0-9_/.#-]{1,512}$", g))])
    error_message = "db_log_group_names entries must be CloudWatch Logs group names (letters, digits, _ / . # -)."
  }
}

variable "db_log_retention_days" {
  type        = number
  description = "Days to keep the PostgreSQL log groups created here."
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.db_log_retention_days)
    error_message = "db_log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "db_log_kms_key_arn" {
  type        = string
  description = "KMS key ARN for the PostgreSQL log groups created here (its policy must let logs.REGION.amazonaws.com use it); null uses the CloudWatch Logs default encryption."
  default     = null
}

variable "backfill_enabled" {
  type        = bool
  description = "Create the backfill FIFO queue (with its dead-letter queue) that `rotaudit audit backfill` fills with the trail bucket's log files, and the event source mapping through which the auditor reads it. Needs trail_bucket_name. Off by default: on for a backfill of history, off again when the queue is drained."
  default     = false
}

variable "backfill_max_concurrency" {
  type        = number
  description = "Maximum concurrency of the backfill's event source mapping: how many auditors read the queue at once (at most one per message group, i.e. per account and region)."
  default     = 10

  validation {
    condition     = var.backfill_max_concurrency >= 2 && var.backfill_max_concurrency <= 1000
    error_message = "backfill_max_concurrency must be between 2 and 1000 (the limits of an SQS event source mapping)."
  }
}

variable "backfill_max_receive_count" {
  type        = number
  description = "Times a backfill message is received before it moves to the backfill dead-letter queue."
  default     = 5

  validation {
    condition     = var.backfill_max_receive_count >= 1 && var.backfill_max_receive_count <= 1000
    error_message = "backfill_max_receive_count must be between 1 and 1000."
  }
}
