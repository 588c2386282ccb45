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
