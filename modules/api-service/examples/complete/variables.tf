variable "region" {
  type        = string
  description = "AWS region to deploy the example in."
  default     = "eu-west-1"
}

variable "availability_zones" {
  type        = list(string)
  description = "Two zones of the region for the example's subnets."
  default     = ["eu-west-1a", "eu-west-1b"]
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
