# Copied beside an environment's root by scripts/aws-check.sh (with awscheck_override.tf):
# the emulator the providers point at.
variable "awscheck_endpoint" {
  description = "URL of the fresh moto server aws-check applies to."
  type        = string
}

data "aws_caller_identity" "awscheck" {}
