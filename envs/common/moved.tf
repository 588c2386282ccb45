# Where the parts of a deployment made before modules/rotaudit now live: a plan after the
# upgrade moves them instead of replacing them.

moved {
  from = module.network
  to   = module.rotaudit.module.network
}

moved {
  from = module.ecr
  to   = module.rotaudit.module.ecr[0]
}

moved {
  from = module.database
  to   = module.rotaudit.module.database[0]
}

moved {
  from = module.secret_rotation
  to   = module.rotaudit.module.secret_rotation
}

moved {
  from = module.api
  to   = module.rotaudit.module.api[0]
}

moved {
  from = module.audit_trail
  to   = module.rotaudit.module.audit_trail
}

moved {
  from = module.audit_alerts
  to   = module.rotaudit.module.audit_alerts
}

moved {
  from = module.db_access_iam
  to   = module.rotaudit.module.db_access_iam
}

# dev, stage and prod run an RDS instance: their one database is now the "rates" entry of
# modules/rotaudit's databases (its other moves are in modules/rotaudit/moved.tf). A root
# with database_mode ecs would move module.rotaudit.module.database[0] to
# module.rotaudit.module.database_ecs["rates"] instead.
moved {
  from = module.rotaudit.module.database[0]
  to   = module.rotaudit.module.database["rates"]
}
