# Copied with awscheck_override.tf into aws-check's copy of modules/rotaudit: what its
# overrides read.
data "aws_region" "awscheck" {}

data "aws_caller_identity" "awscheck" {}
