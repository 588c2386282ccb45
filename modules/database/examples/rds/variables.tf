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

