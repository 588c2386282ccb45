provider "aws" {
  region = var.region
}

module "audit_trail" {
  source = "../.."

  name = "rotaudit-example"
  # A month of files, kept in S3 Standard: a transition must come before the expiration.
  expiration_days            = 30
  transition_to_glacier_days = null
  force_destroy              = true
}
