provider "aws" {
  region = var.region
}

module "audit_trail" {
  source = "../.."

  name            = "rotaudit-example"
  expiration_days = 30
  force_destroy   = true
}
