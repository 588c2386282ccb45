provider "aws" {
  region = var.region
}

module "db_access_iam" {
  source = "../.."

  name              = "rotaudit-example"
  app_secret_arn    = var.app_secret_arn
  admin_secret_arn  = var.admin_secret_arn
  app_kms_key_arn   = var.app_kms_key_arn
  admin_kms_key_arn = var.admin_kms_key_arn
  application_roles = {
    reporting = { service = "ecs-tasks.amazonaws.com", access = "read" }
  }
}
