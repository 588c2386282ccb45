variable "name_prefix" {
  type        = string
  description = "Start of both role names: NAME_PREFIX-exec-… and NAME_PREFIX-task-… (IAM adds a unique suffix)."

  validation {
    condition     = length(var.name_prefix) <= 32
    error_message = "name_prefix must be at most 32 characters (IAM's name_prefix limit is 38, with -exec- or -task- added)."
  }
}

variable "repository_arns" {
  type        = list(string)
  description = "ECR repositories (ARNs, wildcards allowed) the execution role may pull the image from."
}

variable "log_group_arn" {
  type        = string
  description = "ARN of the log group the containers write to (the execution role writes it for them)."
}

variable "execution_policy_name" {
  type        = string
  description = "Name of the execution role's inline policy."
}

variable "execution_policy_json" {
  type        = string
  description = "Further permissions of the execution role (an aws_iam_policy_document's json), e.g. to inject a secret; null for none. Sids EcrLogin, PullImage and WriteLogs are taken."
  default     = null
}

variable "task_policy_name" {
  type        = string
  description = "Name of the task role's inline policy."
}

variable "task_policy_json" {
  type        = string
  description = "Permissions of the task role: what the container's code may do (an aws_iam_policy_document's json)."
}

variable "tags" {
  type        = map(string)
  description = "Tags for both roles."
  default     = {}
}
