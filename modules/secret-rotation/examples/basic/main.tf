provider "aws" {
  region = var.region
}

module "secret_rotation" {
  source = "../.."

  name                   = "rotaudit-example"
  secret_name_prefix     = "rotaudit/example"
  db_host                = var.db_host
  admin_initial_password = var.admin_password
  lambda_zip_path        = "${path.root}/../../../../dist/rotator.zip"
  subnet_ids             = var.subnet_ids
  security_group_ids     = var.security_group_ids
  rotation_strategy      = "alternating-users"
  recovery_window_days   = 0
}
