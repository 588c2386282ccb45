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
  description = "Description of the function."
}

variable "zip_path" {
  type        = string
  description = "Path of the deployment zip (make package); its hash redeploys the function when the code changes."
}

variable "environment" {
  type        = map(string)
  description = "The function's environment variables: its contract with the Go code (checked by internal/tfcheck)."
}

variable "policy_name" {
  type        = string
  description = "Name of the role's inline policy."
}

variable "policy_json" {
  type        = string
  description = "The function's own permissions (an aws_iam_policy_document's json); logs, traces and VPC interfaces are added here. Sids WriteLogs, WriteTraces, CreateInterfacesInOwnSubnets, ManageOwnInterfaces and DescribeInterfaces are taken."
}

variable "memory_mb" {
  type        = number
  description = "Memory of the function in MB."
  default     = 128
}

variable "timeout_seconds" {
  type        = number
  description = "Timeout of one invocation in seconds."
  default     = 30
}

variable "tracing_mode" {
  type        = string
  description = "X-Ray tracing of the function: Active (every cold start and 5% of calls traced) or PassThrough (only calls whose caller sampled them)."
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

variable "reserved_concurrency" {
  type        = number
  description = "Reserved concurrent executions; null leaves the function in the unreserved pool."
  default     = null
}

variable "subnet_ids" {
  type        = list(string)
  description = "Subnets to run the function in; empty runs it outside a VPC."
  default     = []
}

variable "security_group_ids" {
  type        = list(string)
  description = "Security groups of the function's interfaces (with subnet_ids)."
  default     = []
}

variable "dead_letter_target_arn" {
  type        = string
  description = "SQS queue or SNS topic for failed asynchronous invocations; null for none."
  default     = null
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the function's logs."
}

variable "log_kms_key_arn" {
  type        = string
  description = "KMS key encrypting the log group; null uses CloudWatch's own encryption."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource."
  default     = {}
}
