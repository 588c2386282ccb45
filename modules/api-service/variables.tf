variable "name" {
  type        = string
  description = "Name prefix of the cluster, service, load balancer and roles (for example rotaudit-dev)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name))
    error_message = "name must be 3-24 lowercase letters, digits or hyphens (load balancer names are short), starting with a letter."
  }
}

variable "vpc_id" {
  type        = string
  description = "VPC of the service."
}

variable "task_subnet_ids" {
  type        = list(string)
  description = "Private subnets the tasks run in."

  validation {
    condition     = length(var.task_subnet_ids) >= 2
    error_message = "task_subnet_ids needs at least two subnets in different zones."
  }
}

variable "lb_subnet_ids" {
  type        = list(string)
  description = "Subnets of the load balancer: public subnets for an internet-facing one, otherwise the private subnets."

  validation {
    condition     = length(var.lb_subnet_ids) >= 2
    error_message = "lb_subnet_ids needs at least two subnets in different zones."
  }
}

variable "internal" {
  type        = bool
  description = "Make the load balancer internal (reachable only inside the VPC)."
  default     = true
}

variable "lb_security_group_id" {
  type        = string
  description = "Security group of the load balancer (the network module's alb group); required with create_load_balancer, null without."
  default     = null
}

variable "task_security_group_id" {
  type        = string
  description = "Security group of the tasks (the network module's api group)."
}

variable "image" {
  type        = string
  description = "Container image of the rates API, with an immutable tag or digest (for example <account>.dkr.ecr.<region>.amazonaws.com/rotaudit-dev/rates-api:1.2.0)."

  validation {
    condition     = can(regex("[:@]", var.image)) && !endswith(var.image, ":latest")
    error_message = "image must carry an explicit tag or digest, and not :latest."
  }
}

variable "ecr_repository_arn" {
  type        = string
  description = "ARN of the ECR repository the image comes from (the execution role may pull only from it)."
}

variable "db_secret_arn" {
  type        = string
  description = "ARN of the application database secret; passed to the API as DB_SECRET_ID and the only secret the task role may read."
}

variable "db_secret_kms_key_arn" {
  type        = string
  description = "KMS key that encrypts db_secret_arn; the task role may decrypt with it through Secrets Manager only."
}

variable "cpu" {
  type        = number
  description = "Fargate CPU units per task."
  default     = 256

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.cpu)
    error_message = "cpu must be one of 256, 512, 1024, 2048, 4096."
  }
}

variable "memory_mb" {
  type        = number
  description = "Fargate memory per task in MB (must suit cpu)."
  default     = 512

  validation {
    condition     = var.memory_mb >= 512 && var.memory_mb <= 30720
    error_message = "memory_mb must be between 512 and 30720."
  }
}

variable "min_tasks" {
  type        = number
  description = "Autoscaling floor (and the initial desired count)."
  default     = 2

  validation {
    condition     = var.min_tasks >= 1
    error_message = "min_tasks must be at least 1."
  }
}

variable "max_tasks" {
  type        = number
  description = "Autoscaling ceiling."
  default     = 6
}

variable "cpu_target_percent" {
  type        = number
  description = "Average CPU utilisation autoscaling keeps the service at."
  default     = 60

  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "cpu_target_percent must be between 10 and 90."
  }
}

variable "requests_per_target" {
  type        = number
  description = "Load balancer requests per task per minute autoscaling aims for; 0 scales on CPU only."
  default     = 3000
}

variable "certificate_arn" {
  type        = string
  description = "ACM certificate for the HTTPS listener; null serves plain HTTP on port 80 (internal or throw-away environments only)."
  default     = null
}

variable "lb_deletion_protection" {
  type        = bool
  description = "Refuse to delete the load balancer."
  default     = true
}

variable "lb_access_logs_bucket" {
  type        = string
  description = "Existing S3 bucket for load balancer access logs (its policy must let ELB write under <name>/AWSLogs/); null turns access logging off unless create_access_logs_bucket is set."
  default     = null
}

variable "create_access_logs_bucket" {
  type        = bool
  description = "Create a bucket for the load balancer's access logs (SSE-S3, the only encryption ELB supports for them; a policy letting ELB write; expiry after access_logs_retention_days) and log to it. Overrides lb_access_logs_bucket."
  default     = false
}

variable "access_logs_retention_days" {
  type        = number
  description = "Days the load balancer's access logs are kept in the bucket create_access_logs_bucket makes."
  default     = 365

  validation {
    condition     = var.access_logs_retention_days >= 1 && floor(var.access_logs_retention_days) == var.access_logs_retention_days
    error_message = "access_logs_retention_days must be a whole number of days, at least 1."
  }
}

variable "access_logs_force_destroy" {
  type        = bool
  description = "Let terraform destroy empty the access log bucket (throw-away environments only)."
  default     = false
}

variable "log_retention_days" {
  type        = number
  description = "Days to keep the API logs."
  default     = 365
}

variable "log_kms_key_arn" {
  type        = string
  description = "KMS key ARN for the API log group; null uses the CloudWatch Logs default encryption."
  default     = null
}

variable "extra_environment" {
  type        = map(string)
  description = "More plain environment variables for the API container (never secrets: the API reads those from Secrets Manager)."
  default     = {}

  validation {
    condition     = length(setintersection(keys(var.extra_environment), ["DB_SECRET_ID", "PORT"])) == 0
    error_message = "extra_environment must not set DB_SECRET_ID or PORT; the module sets them."
  }
}

variable "create_load_balancer" {
  type        = bool
  description = "Put an Application Load Balancer in front of the tasks. false (a cheap dev with one task) gives up a stable address, health-checked routing, TLS termination and request-count scaling; clients reach a task at its own address on port 3000."
  default     = true
}

variable "assign_public_ip" {
  type        = bool
  description = "Give each task a public IPv4 address (tasks in public subnets reaching AWS APIs without NAT or endpoints; billed per address-hour)."
  default     = false
}

variable "container_insights" {
  type        = bool
  description = "Container Insights on the cluster (metrics billed as custom CloudWatch metrics)."
  default     = true
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
