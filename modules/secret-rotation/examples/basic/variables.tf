variable "region" {
  type        = string
  description = "AWS region to deploy the example in."
  default     = "eu-west-1"
}

variable "db_host" {
  type        = string
  description = "Host name of an existing PostgreSQL server the rotator can reach."
}

variable "admin_password" {
  type        = string
  description = "Current password of rotaudit_admin on that server."
  sensitive   = true
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets from which the server is reachable."
}

variable "security_group_ids" {
  type        = list(string)
  description = "Security groups for the rotator."
}
