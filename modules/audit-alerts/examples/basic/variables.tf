variable "region" {
  type        = string
  description = "AWS region to deploy the example in."
  default     = "eu-west-1"
}

variable "watched_secret_arns" {
  type        = list(string)
  description = "ARNs of the database secrets to audit."
}

variable "alert_email" {
  type        = string
  description = "Address that receives the alerts (confirm the subscription mail)."
}
