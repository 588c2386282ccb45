# scripts/aws-check.sh copies this file into its throw-away copy of modules/rotaudit (the
# deployment every root calls): Terraform's override files work within one module, and
# these settings are inside it.
# https://developer.hashicorp.com/terraform/language/files/override

# Skipped: the RDS instances. moto creates them, but the provider's waiter holds the apply
# 2-3 minutes, and no policy aws-check evaluates is on them: the secrets get a host name of
# the same shape, and scripts/aws-check.sh leaves the instances out of its -target list.
# The rotator's RDS calls are checked on the instance's ARN, made from its identifier.
# What the module reads from module.database is written out here instead (modules/database's
# values), since a reference to that for_each'd call by a computed key waits for all of it.
locals {
  db = {
    for k, d in local.databases : k => {
      host          = d.mode == "external" ? d.external.host : d.mode == "ecs" ? "postgres.${local.db_names[k]}.internal" : "${local.db_names[k]}.awscheck.${data.aws_region.awscheck.name}.rds.amazonaws.com"
      port          = d.mode == "external" ? d.external.port : 5432
      db_name       = d.mode == "external" ? d.external.db_name : "rates"
      tls           = d.mode == "external" ? d.external.tls : local.rds_engine[k]
      master_user   = d.mode == "external" ? null : "rotaudit_admin"
      admin_readers = d.mode == "ecs" ? ["arn:${local.partition}:iam::${local.account_id}:role/${local.db_names[k]}-pg-exec-*"] : []
    }
  }
  # dev, stage and prod have one RDS database, "rates": its log group by a constant key,
  # which waits for that group only.
  db_audit = {
    for k, d in local.databases : k => {
      identifier = local.db_names[k]
      log_group  = module.database["rates"].postgresql_log_group_name
    } if d.mode == "rds" && k == "rates"
  }
}

# The trail is not created (../awscheck_override.tf): the auditor gets its ARN as it would be.
module "audit_alerts" {
  trails = !var.create_trail ? [] : [{
    arn    = "arn:aws:cloudtrail:${data.aws_region.awscheck.name}:${data.aws_caller_identity.awscheck.account_id}:trail/${local.name}"
    bucket = module.audit_trail.bucket_name
  }]
}
