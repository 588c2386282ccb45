provider "aws" {
  region = var.region
}

module "secret_rotation" {
  source = "../.."

  name                  = "rotaudit-example"
  secret_name_prefix    = "rotaudit/example"
  db_host               = var.db_host
  admin_password_wo     = var.admin_password
  lambda_zip_path       = coalesce(var.rotator_zip_path, "${path.root}/../../../../dist/rotator.zip")
  bootstrap_zip_path    = coalesce(var.bootstrap_zip_path, "${path.root}/../../../../dist/dbbootstrap.zip")
  subnet_ids            = var.subnet_ids
  security_group_ids    = var.security_group_ids
  app_rotation_strategy = "alternating-users"
  break_glass_role_arns = var.break_glass_role_arns
  recovery_window_days  = 0
  invoke_bootstrap      = var.invoke_bootstrap
}
