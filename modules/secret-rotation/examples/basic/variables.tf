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
  description = "Current password of rotaudit_admin on that server (TF_VAR_admin_password); ephemeral: written write-only into the admin secret, never stored."
  sensitive   = true
  ephemeral   = true
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets from which the server is reachable."
}

variable "security_group_ids" {
  type        = list(string)
  description = "Security groups for the rotator and the bootstrap."
}

variable "break_glass_role_arns" {
  type        = list(string)
  description = "Roles that may read the secrets in an emergency."
  default     = []
}

variable "invoke_bootstrap" {
  type        = bool
  description = "Run the bootstrap from Terraform (false on an emulator, which cannot invoke Lambdas)."
  default     = true
}

variable "rotator_zip_path" {
  type        = string
  description = "Rotator zip; null uses dist/rotator.zip from make package."
  default     = null
}

variable "bootstrap_zip_path" {
  type        = string
  description = "Bootstrap zip; null uses dist/dbbootstrap.zip from make package."
  default     = null
}
