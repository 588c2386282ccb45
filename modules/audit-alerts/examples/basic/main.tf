provider "aws" {
  region = var.region
}

provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
}

module "audit_trail" {
  source = "../../../audit-trail"

  name          = "rotaudit-example"
  force_destroy = true
}

module "audit_alerts" {
  source = "../.."
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  name                = "rotaudit-example"
  lambda_zip_path     = "${path.root}/../../../../dist/auditor.zip"
  watched_secret_arns = var.watched_secret_arns
  s3_backfill         = false # true only while backfilling from the log files (EventBridge is the live path)
  trail_bucket_name   = module.audit_trail.bucket_name
  trail_kms_key_arn   = module.audit_trail.kms_key_arn
  alert_subscriptions = [{ protocol = "email", endpoint = var.alert_email }]
}
