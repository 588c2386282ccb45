variable "region" {
  type        = string
  description = "AWS region to deploy the example in."
  default     = "eu-west-1"
}

variable "image" {
  type        = string
  description = "Rates API image with an immutable tag."
}

variable "ecr_repository_arn" {
  type        = string
  description = "ECR repository of the image."
}

variable "db_secret_arn" {
  type        = string
  description = "ARN of the application database secret."
}

variable "db_secret_kms_key_arn" {
  type        = string
  description = "KMS key of the application database secret."
}
