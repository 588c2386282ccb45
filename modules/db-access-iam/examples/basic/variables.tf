variable "region" {
  type        = string
  description = "AWS region to deploy the example in."
  default     = "eu-west-1"
}

variable "app_secret_arn" {
  type        = string
  description = "ARN of an existing application database secret."
}

variable "admin_secret_arn" {
  type        = string
  description = "ARN of an existing master database secret."
}

variable "app_kms_key_arn" {
  type        = string
  description = "KMS key of the application secret."
}

variable "admin_kms_key_arn" {
  type        = string
  description = "KMS key of the master secret."
}
