variable "name" {
  type        = string
  description = "Name prefix for every resource of the network (for example rotaudit-dev)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "cidr_block" {
  type        = string
  description = "IPv4 CIDR block of the VPC."
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0))
    error_message = "cidr_block must be a valid IPv4 CIDR block such as 10.40.0.0/16."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zones to spread the subnets across (one private subnet each, at least two)."

  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "availability_zones needs at least two zones: RDS subnet groups and load balancers require two."
  }
}

variable "private_subnet_cidrs" {
  type        = list(string)
  description = "CIDR blocks of the private subnets, one per availability zone, in the same order."

  validation {
    condition     = alltrue([for c in var.private_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "private_subnet_cidrs must all be valid IPv4 CIDR blocks."
  }
}

variable "public_subnet_cidrs" {
  type        = list(string)
  description = "CIDR blocks of public subnets for an internet-facing load balancer, one per zone; empty keeps the VPC private (internal load balancer only)."
  default     = []

  validation {
    condition     = alltrue([for c in var.public_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "public_subnet_cidrs must all be valid IPv4 CIDR blocks."
  }
}

variable "enable_secretsmanager_endpoint" {
  type        = bool
  description = "Create the Secrets Manager interface endpoint (the rotator and the API need it when there is no NAT); forced on by private_tasks without a NAT gateway."
  default     = true
}

variable "enable_logs_endpoint" {
  type        = bool
  description = "Create the CloudWatch Logs interface endpoint (ECS tasks ship logs through it); forced on by private_tasks without a NAT gateway."
  default     = true
}

variable "enable_ecr_endpoints" {
  type        = bool
  description = "Create the ECR API and ECR Docker interface endpoints (Fargate pulls images through them); forced on by private_tasks without a NAT gateway."
  default     = true
}

variable "enable_s3_endpoint" {
  type        = bool
  description = "Create the S3 gateway endpoint (free; ECR image layers are stored in S3); forced on by private_tasks without a NAT gateway."
  default     = true
}

variable "enable_kms_endpoint" {
  type        = bool
  description = "Create the KMS interface endpoint (needed when a Lambda decrypts its environment or a secret outside Secrets Manager)."
  default     = false
}

variable "admin_cidr_blocks" {
  type        = list(string)
  description = "CIDR blocks of the admin access path (VPN, bastion subnet) allowed to reach PostgreSQL on 5432."
  default     = []

  validation {
    condition     = alltrue([for c in var.admin_cidr_blocks : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "admin_cidr_blocks must be valid IPv4 CIDR blocks and must not be 0.0.0.0/0."
  }
}

variable "flow_log_retention_days" {
  type        = number
  description = "Days to keep VPC flow logs in CloudWatch Logs."
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a retention period CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653)."
  }
}

variable "flow_log_traffic_type" {
  type        = string
  description = "Traffic the flow log records: ALL, ACCEPT or REJECT (REJECT alone costs a fraction of ALL in log ingestion, and still shows blocked attempts)."
  default     = "ALL"

  validation {
    condition     = contains(["ALL", "ACCEPT", "REJECT"], var.flow_log_traffic_type)
    error_message = "flow_log_traffic_type must be ALL, ACCEPT or REJECT."
  }
}

variable "interface_endpoint_zones" {
  type        = number
  description = "Number of private subnets (zones) the interface endpoints are placed in, the first ones; 0 puts them in every private subnet. Each zone of each endpoint is billed by the hour."
  default     = 0

  validation {
    condition     = var.interface_endpoint_zones >= 0 && floor(var.interface_endpoint_zones) == var.interface_endpoint_zones
    error_message = "interface_endpoint_zones must be a whole number >= 0."
  }
}

variable "create_alb_security_group" {
  type        = bool
  description = "Create the load balancer's security group (HTTP and HTTPS from clients, to the API tasks); false when the API has no load balancer, so no open group is left unused."
  default     = true
}

variable "private_tasks" {
  type        = bool
  description = "ECS tasks run in the private subnets (the ECS database, or API tasks without public addresses). Without nat_gateway they can reach AWS only through endpoints, so this creates the ECR API, ECR Docker, CloudWatch Logs and Secrets Manager interface endpoints and the S3 gateway endpoint whatever the enable_* switches say: without them Fargate cannot pull the image."
  default     = false
}

variable "nat_gateway" {
  type        = bool
  description = "Create one NAT gateway in the first public subnet and route the private subnets' internet traffic through it (needs public_subnet_cidrs)."
  default     = false
}

variable "https_egress_to_internet" {
  type        = list(string)
  description = "Roles (api, rotator, database) whose security group may reach HTTPS anywhere: needed when AWS APIs are reached through a NAT gateway or a public address instead of interface endpoints."
  default     = []

  validation {
    condition     = alltrue([for r in var.https_egress_to_internet : contains(["api", "rotator", "database"], r)])
    error_message = "https_egress_to_internet may name only api, rotator and database."
  }
}

variable "api_ingress_cidr_blocks" {
  type        = list(string)
  description = "CIDR blocks allowed to reach the API tasks on port 3000 directly (an environment without a load balancer)."
  default     = []

  validation {
    condition     = alltrue([for c in var.api_ingress_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "api_ingress_cidr_blocks must be valid IPv4 CIDR blocks."
  }
}

variable "log_kms_key_arn" {
  type        = string
  description = "KMS key ARN that encrypts the flow log group; null uses the CloudWatch Logs default encryption."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
