# Where a single-database deployment's parts live now that the databases are a map: its one
# database is keyed "rates" (the default key of the single-database variables), and its
# rotators are the shared ones of every database. An upgrade moves them and destroys nothing
# (scripts/tf-upgrade-check.sh).

moved {
  from = module.secret_rotation["rates"].module.rotator["single-user"]
  to   = module.rotator["single-user"]
}

moved {
  from = module.secret_rotation["rates"].module.rotator["alternating-users"]
  to   = module.rotator["alternating-users"]
}

moved {
  from = module.secret_rotation["rates"].aws_lambda_permission.rotator["app"]
  to   = aws_lambda_permission.rotator["rates/app"]
}

moved {
  from = module.secret_rotation["rates"].aws_lambda_permission.rotator["admin"]
  to   = aws_lambda_permission.rotator["rates/admin"]
}

moved {
  from = module.secret_rotation["rates"].aws_secretsmanager_secret_rotation.app[0]
  to   = aws_secretsmanager_secret_rotation.app["rates"]
}

moved {
  from = module.secret_rotation["rates"].aws_secretsmanager_secret_rotation.admin[0]
  to   = aws_secretsmanager_secret_rotation.admin["rates"]
}

moved {
  from = module.secret_rotation
  to   = module.secret_rotation["rates"]
}
