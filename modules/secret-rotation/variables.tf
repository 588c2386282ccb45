variable "name" {
  type        = string
  description = "Name prefix of the Lambda, its role, log group and keys (for example rotaudit-dev)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "secret_name_prefix" {
  type        = string
  description = "Prefix of the secret names: the secrets are <prefix>/app and <prefix>/admin (for example rotaudit/dev)."

  validation {
    condition     = can(regex("^[A-Za-z0-9/_+=.@-]{1,480}$", var.secret_name_prefix)) && !endswith(var.secret_name_prefix, "/")
    error_message = "secret_name_prefix may hold letters, digits and /_+=.@- only, and must not end with a slash."
  }
}

variable "db_host" {
  type        = string
  description = "Host name of the PostgreSQL server, written into both secrets."

  validation {
    condition     = length(var.db_host) > 0
    error_message = "db_host must not be empty."
  }
}

variable "db_port" {
  type        = number
  description = "TCP port of the PostgreSQL server."
  default     = 5432

  validation {
    condition     = var.db_port >= 1 && var.db_port <= 65535
    error_message = "db_port must be between 1 and 65535."
  }
}

variable "db_name" {
  type        = string
  description = "Database the application uses (the secrets' dbname)."
  default     = "rates"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must be a lowercase PostgreSQL identifier of at most 63 characters."
  }
}

variable "app_username" {
  type        = string
  description = "Login role of the application (SELECT only), stored in the app secret."
  default     = "rates_app"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.app_username))
    error_message = "app_username must be a lowercase PostgreSQL identifier of at most 63 characters."
  }
  # Alternating users creates <app_username>_clone, which must fit PostgreSQL's 63 bytes too.
  validation {
    condition     = var.app_rotation_strategy != "alternating-users" || length(var.app_username) <= 57
    error_message = "app_username must be at most 57 characters with alternating-users rotation, so that <app_username>_clone fits in 63."
  }
}

variable "admin_username" {
  type        = string
  description = "Master role (LOGIN CREATEROLE) the rotator uses to change the application's password, stored in the admin secret."
  default     = "rotaudit_admin"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.admin_username))
    error_message = "admin_username must be a lowercase PostgreSQL identifier of at most 63 characters."
  }
}

variable "admin_password_wo" {
  type        = string
  description = "First password of the master role, written write-only into the admin secret when create_admin_secret is true: pass an ephemeral value (the one the database was created with). Never stored in the plan or the state."
  default     = null
  sensitive   = true
  ephemeral   = true
}

variable "admin_password_wo_version" {
  type        = number
  description = "Version of admin_password_wo: the admin secret's value is written when it is created and again whenever this number changes (rotation owns it in between)."
  default     = 1
}

variable "create_admin_secret" {
  type        = bool
  description = "Create the admin (master) secret <secret_name_prefix>/admin with its own KMS key; false uses an existing one, admin_secret_arn (the local stack's rotaudit/local/admin)."
  default     = true
}

variable "admin_secret_arn" {
  type        = string
  description = "ARN of an existing master secret in the RDS JSON shape, used when create_admin_secret is false."
  default     = null

  validation {
    condition     = var.admin_secret_arn == null || can(regex("^arn:[a-z-]+:secretsmanager:", var.admin_secret_arn))
    error_message = "admin_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "admin_kms_key_arn" {
  type        = string
  description = "KMS key of the existing master secret (create_admin_secret false); null when it uses the AWS managed key aws/secretsmanager."
  default     = null
}

variable "create_secret_policy" {
  type        = bool
  description = "Attach to each created secret a resource policy that denies GetSecretValue to every principal not named (readers, rotators, the bootstrap, break-glass roles, deployers and the principal running Terraform)."
  default     = true
}

variable "app_reader_arns" {
  type        = list(string)
  description = "IAM principals that may read the app secret's value (the API task role, application roles with read access)."
  default     = []
}

variable "admin_reader_arns" {
  type        = list(string)
  description = "IAM principals that may read the master secret's value besides the rotators and the bootstrap (the ECS database's task execution role)."
  default     = []
}

variable "secret_rotator_arns" {
  type        = list(string)
  description = "Other IAM principals that rotate the secrets and may read both values (db-access-iam roles with rotate access)."
  default     = []
}

variable "break_glass_role_arns" {
  type        = list(string)
  description = "Break-glass IAM roles that may read both values in an emergency. They are not on the auditor's allow-lists: every read by them raises RA-01, by design."
  default     = []

  validation {
    condition     = alltrue([for a in var.break_glass_role_arns : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/", a))])
    error_message = "break_glass_role_arns must be IAM role ARNs."
  }
}

variable "operator_user_arns" {
  type        = list(string)
  description = "IAM users that operate the app secret (db-access-iam's db-operators group): exempted from the app secret's deny, which otherwise wins over their group's grant. An IAM user's aws:PrincipalArn is its user ARN, not a group's, so each user is named."
  default     = []

  validation {
    condition     = alltrue([for a in var.operator_user_arns : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:user/", a))])
    error_message = "operator_user_arns must be IAM user ARNs."
  }
}

variable "break_glass_user_arns" {
  type        = list(string)
  description = "IAM users of the break-glass group (db-access-iam): exempted from both secrets' deny like break_glass_role_arns, and likewise left off the auditor's allow-lists."
  default     = []

  validation {
    condition     = alltrue([for a in var.break_glass_user_arns : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:user/", a))])
    error_message = "break_glass_user_arns must be IAM user ARNs."
  }
}

variable "deployer_arns" {
  type        = list(string)
  description = "Every IAM principal that runs Terraform on this module (each operator's role or user, the CI role): the provider reads the secret versions it manages on every plan, so they are exempted from the deny. The principal running Terraform is exempted too, but only for its own run: anyone not listed is denied GetSecretValue during plan (AccessDeniedException) once someone else has applied. A check block warns when the running principal is missing."
  default     = []
}

variable "lambda_zip_path" {
  type        = string
  description = "Path of the rotator zip built by `make package` (dist/rotator.zip)."

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must point at a .zip file (run make package)."
  }
}

variable "lambda_memory_mb" {
  type        = number
  description = "Memory of the rotation Lambda in MB."
  default     = 128

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240
    error_message = "lambda_memory_mb must be between 128 and 10240."
  }
}

variable "lambda_timeout_seconds" {
  type        = number
  description = "Timeout of one rotation step in seconds."
  default     = 30

  validation {
    condition     = var.lambda_timeout_seconds >= 5 && var.lambda_timeout_seconds <= 900
    error_message = "lambda_timeout_seconds must be between 5 and 900."
  }
}

variable "reserved_concurrency" {
  type        = number
  description = "Reserved concurrent executions of the rotator; null leaves it in the unreserved pool (new accounts cannot reserve)."
  default     = null
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets the rotator runs in (it must reach PostgreSQL); empty runs it outside a VPC (local emulator only)."
  default     = []
}

variable "security_group_ids" {
  type        = list(string)
  description = "Security groups of the rotator (the network module's rotator group)."
  default     = []
}

variable "app_rotation_strategy" {
  type        = string
  description = "How the app secret rotates: alternating-users (switch between the role and its _clone, changed by the master at masterarn) or single-user. The master secret always rotates single-user."
  default     = "alternating-users"

  validation {
    condition     = contains(["single-user", "alternating-users"], var.app_rotation_strategy)
    error_message = "app_rotation_strategy must be single-user or alternating-users."
  }
}

variable "create_bootstrap" {
  type        = bool
  description = "Create the database bootstrap function <name>-db-bootstrap (dist/dbbootstrap.zip)."
  default     = true
}

variable "bootstrap_zip_path" {
  type        = string
  description = "Path of the bootstrap zip built by `make package` (dist/dbbootstrap.zip)."
  default     = null

  validation {
    condition     = var.bootstrap_zip_path == null ? true : endswith(var.bootstrap_zip_path, ".zip")
    error_message = "bootstrap_zip_path must point at a .zip file (run make package)."
  }
  validation {
    condition     = var.bootstrap_zip_path != null || !var.create_bootstrap
    error_message = "create_bootstrap needs bootstrap_zip_path (dist/dbbootstrap.zip from make package)."
  }
}

variable "bootstrap_timeout_seconds" {
  type        = number
  description = "Timeout of the bootstrap function in seconds."
  default     = 120

  validation {
    condition     = var.bootstrap_timeout_seconds >= 10 && var.bootstrap_timeout_seconds <= 900
    error_message = "bootstrap_timeout_seconds must be between 10 and 900."
  }
}

variable "invoke_bootstrap" {
  type        = bool
  description = "Invoke the bootstrap from Terraform once it exists (aws_lambda_invocation). Real AWS only: emulators cannot run Lambdas, so envs/local leaves it off and runs the function itself."
  default     = true
}

variable "kms_deletion_window_days" {
  type        = number
  description = "Days a deleted secret key waits before it is gone (7-30)."
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "rotation_days" {
  type        = number
  description = "Rotate automatically after this many days (ignored when rotation_schedule is set)."
  default     = 30

  validation {
    condition     = var.rotation_days >= 1 && var.rotation_days <= 90
    error_message = "rotation_days must be between 1 and 90: database credentials older than 90 days break the rotation policy."
  }
}

variable "rotation_schedule" {
  type        = string
  description = "Rotation schedule as a cron() or rate() expression; null rotates every rotation_days."
  default     = null

  validation {
    condition     = var.rotation_schedule == null || can(regex("^(cron|rate)\\(.+\\)$", var.rotation_schedule))
    error_message = "rotation_schedule must be a cron(...) or rate(...) expression, or null."
  }
}

variable "rotation_window" {
  type        = string
  description = "Length of the rotation window, such as 3h (Secrets Manager ScheduleExpression duration); null lets AWS choose."
  default     = "3h"

  validation {
    condition     = var.rotation_window == null || can(regex("^[0-9]{1,2}h$", var.rotation_window))
    error_message = "rotation_window must look like 3h (1h to 24h), or be null."
  }
}

variable "rotate_admin_secret" {
  type        = bool
  description = "Also rotate the master secret itself (single-user) on the same schedule."
  default     = true
}

variable "password_length" {
  type        = number
  description = "Length of generated passwords (PASSWORD_LENGTH)."
  default     = 32

  validation {
    condition     = var.password_length >= 16 && var.password_length <= 99
    error_message = "password_length must be between 16 and 99 (PostgreSQL's limit with room to spare)."
  }
}

variable "exclude_characters" {
  type        = string
  description = "Characters generated passwords never contain (EXCLUDE_CHARACTERS); the default keeps them safe in connection strings."
  default     = "/@\"'\\ :%?#&"
}

variable "exclude_numbers" {
  type        = bool
  description = "Generated passwords contain no digits (EXCLUDE_NUMBERS)."
  default     = false
}

variable "exclude_punctuation" {
  type        = bool
  description = "Generated passwords contain no punctuation (EXCLUDE_PUNCTUATION)."
  default     = false
}

variable "exclude_uppercase" {
  type        = bool
  description = "Generated passwords contain no uppercase letters (EXCLUDE_UPPERCASE)."
  default     = false
}

variable "exclude_lowercase" {
  type        = bool
  description = "Generated passwords contain no lowercase letters (EXCLUDE_LOWERCASE)."
  default     = false
}

variable "require_each_included_type" {
  type        = bool
  description = "Generated passwords contain at least one character of each included type (REQUIRE_EACH_INCLUDED_TYPE)."
  default     = true
}

variable "test_query" {
  type        = string
  description = "Query the rotator runs with the new credentials before promoting them (TEST_QUERY)."
  default     = "SELECT 1"
}

variable "db_ca_bundle" {
  type        = string
  description = "Path inside the Lambda of the PEM bundle that verifies the server certificate (DB_CA_BUNDLE); empty uses the RDS authorities built into the function for RDS and Aurora endpoints, the system roots otherwise."
  default     = ""
}

variable "db_ssl" {
  type        = bool
  description = "The secrets' \"ssl\" key: true makes every client (API, rotator, bootstrap) use verify-full TLS (RDS: against the embedded RDS authorities), false connects without TLS (the ECS PostgreSQL option inside the VPC, the local stack)."
  default     = true
}

variable "db_allow_plaintext" {
  type        = bool
  description = "Prefer TLS but allow a connection without it when the server refuses TLS (DB_ALLOW_PLAINTEXT); only for the ECS database option inside the VPC or the local stack."
  default     = false
}

variable "db_allow_insecure_password_auth" {
  type        = bool
  description = "Let the rotators and the bootstrap answer a server that asks for a cleartext or MD5 password (DB_ALLOW_INSECURE_PASSWORD_AUTH), logging a warning per connection. Off: only scram-sha-256 is answered, and such a server gets nothing."
  default     = false
}

variable "allow_privileged_users" {
  type        = bool
  description = "Let the alternating-users rotation clone a user with CREATEROLE, REPLICATION or BYPASSRLS, or a member of such a role (ALLOW_PRIVILEGED_USERS). Off: such a user is refused, since its clone would carry the same power."
  default     = false
}

variable "clone_member_of_user" {
  type        = bool
  description = "Alternating users: make the clone a member of the user (CLONE_MEMBER_OF_USER), AWS's way for users that own objects, instead of copying grants only."
  default     = false
}

variable "secrets_manager_endpoint" {
  type        = string
  description = "Secrets Manager endpoint the rotator calls (SECRETS_MANAGER_ENDPOINT); null uses the regional https endpoint."
  default     = null
}

variable "recovery_window_days" {
  type        = number
  description = "Days a deleted secret can be restored (0 deletes at once: throw-away environments only)."
  default     = 30

  validation {
    condition     = var.recovery_window_days == 0 || (var.recovery_window_days >= 7 && var.recovery_window_days <= 30)
    error_message = "recovery_window_days must be 0 or between 7 and 30."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days to keep the rotator's logs."
  default     = 365
}

variable "log_kms_key_arn" {
  type        = string
  description = "KMS key ARN for the rotator's log group; null uses the CloudWatch Logs default encryption."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

variable "create_rotation" {
  type        = bool
  description = "Make the rotator functions, their invoke permissions and the secrets' rotation here. false: the caller does, with rotators it shares among many databases (modules/rotaudit); name their roles in rotator_role_arns. rotation_strategies and app_usernames still say what the caller must configure."
  default     = true
}

variable "rotator_role_arns" {
  type        = list(string)
  description = "Roles of rotators made by the caller (create_rotation = false): exempted from the secrets' deny policy like this module's own rotators."
  default     = []

  validation {
    condition     = alltrue([for a in var.rotator_role_arns : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/", a))])
    error_message = "rotator_role_arns must be IAM role ARNs."
  }
}

variable "more_app_users" {
  type = list(object({
    username          = string
    strategy          = optional(string, "alternating-users")
    rotation_days     = optional(number)
    rotation_schedule = optional(string)
    reader_arns       = optional(list(string), [])
  }))
  description = "Login roles of further applications on the same database, each with its own secret <secret_name_prefix>/app-<username> (its own KMS key, rotation with its strategy, on its own rotation_days or rotation_schedule, else the module's; the same grants as app_username from the bootstrap). Only its own reader_arns, the module's principals, operators, break-glass and deployers may read it: app_reader_arns reach the app secret alone."
  default     = []

  validation {
    condition     = alltrue([for u in var.more_app_users : can(regex("^[a-z_][a-z0-9_]{0,62}$", u.username)) && contains(["single-user", "alternating-users"], u.strategy) && (u.strategy != "alternating-users" || length(u.username) <= 57)])
    error_message = "more_app_users: each username must be a lowercase PostgreSQL identifier (at most 57 characters with alternating-users), and each strategy single-user or alternating-users."
  }
  # A role, its _clone partner and the master each belong to one secret: two secrets
  # rotating one role would undo each other's passwords.
  validation {
    condition     = length(distinct(flatten([for u in concat([{ username = var.app_username, strategy = var.app_rotation_strategy }], var.more_app_users) : u.strategy == "alternating-users" ? [u.username, "${u.username}_clone"] : [u.username]]))) == length(flatten([for u in concat([{ username = var.app_username, strategy = var.app_rotation_strategy }], var.more_app_users) : u.strategy == "alternating-users" ? [u.username, "${u.username}_clone"] : [u.username]]))
    error_message = "more_app_users: usernames must differ from app_username and from each other, and no user may be another's <username>_clone partner under alternating-users."
  }
  validation {
    condition     = alltrue([for u in var.more_app_users : u.username != var.admin_username && "${u.username}_clone" != var.admin_username])
    error_message = "more_app_users: the master user (admin_username) cannot be an app user."
  }
  validation {
    condition     = alltrue([for u in var.more_app_users : u.rotation_days == null || try(u.rotation_days >= 1 && u.rotation_days <= 90, false)])
    error_message = "more_app_users: rotation_days must be between 1 and 90: database credentials older than 90 days break the rotation policy."
  }
  validation {
    condition     = alltrue([for u in var.more_app_users : u.rotation_schedule == null || can(regex("^(cron|rate)\\(.+\\)$", u.rotation_schedule))])
    error_message = "more_app_users: rotation_schedule must be a cron(...) or rate(...) expression, or null."
  }
  validation {
    condition     = alltrue(flatten([for u in var.more_app_users : [for a in u.reader_arns : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:(role|user)/.+$", a))]]))
    error_message = "more_app_users: reader_arns must be IAM role or user ARNs."
  }
}
