variable "region" {
  type        = string
  description = "AWS region to deploy the example in."
  default     = "eu-west-1"
}

