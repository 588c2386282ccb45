# scripts/aws-check.sh copies this file into its throw-away copy of modules/rotaudit (the
# deployment every root calls): Terraform's override files work within one module, and
# these two settings are inside it. The local root (database_mode external) keeps its own.
# https://developer.hashicorp.com/terraform/language/files/override

# Skipped: the RDS instance. moto creates it, but the provider's waiter holds the apply
# 2-3 minutes, and no policy aws-check evaluates is on it: the secrets get a host name of
# the same shape, and scripts/aws-check.sh leaves the instance out of its -target list.
# The rotator's RDS calls are checked on the instance's ARN, made from its identifier.
module "secret_rotation" {
  db_host = local.databases[each.key].mode == "external" ? local.databases[each.key].external.host : "${local.db_names[each.key]}.awscheck.${data.aws_region.awscheck.name}.rds.amazonaws.com"
}

# The trail is not created (../awscheck_override.tf): the auditor gets its ARN as it would be.
module "audit_alerts" {
  trails = !var.create_trail ? [] : [{
    arn    = "arn:aws:cloudtrail:${data.aws_region.awscheck.name}:${data.aws_caller_identity.awscheck.account_id}:trail/${local.name}"
    bucket = module.audit_trail.bucket_name
  }]
}
