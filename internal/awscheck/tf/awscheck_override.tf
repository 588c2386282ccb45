# scripts/aws-check.sh copies this file into a throw-away copy of an environment's root:
# Terraform's override files replace the providers' settings (every endpoint on the fresh
# moto server, test credentials) and the backend (local state), so what is applied is the
# environment's own main.tf and terraform.tfvars.
# https://developer.hashicorp.com/terraform/language/files/override
terraform {
  backend "local" {}
}

# Skipped: the CloudTrail trail. moto 5.2.1 creates it and then fails to read it back
# (HTTP 500, KeyError), and no policy aws-check evaluates is on the trail. The bucket, its
# key and their policies are applied; the auditor gets the trail's ARN as it would be
# (module/awscheck_override.tf, which also stands in for the RDS instance's host name).
module "rotaudit" {
  create_trail = false
}

provider "aws" {
  access_key                  = "test"
  secret_key                  = "test"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_region_validation      = true
  endpoints {
    cloudtrail             = var.awscheck_endpoint
    cloudwatch             = var.awscheck_endpoint
    dynamodb               = var.awscheck_endpoint
    ec2                    = var.awscheck_endpoint
    ecr                    = var.awscheck_endpoint
    ecs                    = var.awscheck_endpoint
    elbv2                  = var.awscheck_endpoint
    events                 = var.awscheck_endpoint
    iam                    = var.awscheck_endpoint
    kms                    = var.awscheck_endpoint
    lambda                 = var.awscheck_endpoint
    logs                   = var.awscheck_endpoint
    rds                    = var.awscheck_endpoint
    s3                     = var.awscheck_endpoint
    secretsmanager         = var.awscheck_endpoint
    sns                    = var.awscheck_endpoint
    sqs                    = var.awscheck_endpoint
    sts                    = var.awscheck_endpoint
    servicediscovery       = var.awscheck_endpoint
    efs                    = var.awscheck_endpoint
    elb                    = var.awscheck_endpoint
    applicationautoscaling = var.awscheck_endpoint
  }
}
provider "aws" {
  alias                       = "us_east_1"
  access_key                  = "test"
  secret_key                  = "test"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_region_validation      = true
  endpoints {
    events           = var.awscheck_endpoint
    iam              = var.awscheck_endpoint
    sts              = var.awscheck_endpoint
    servicediscovery = var.awscheck_endpoint
    efs              = var.awscheck_endpoint
    elb              = var.awscheck_endpoint
  }
}
provider "aws" {
  alias                       = "ephemeral"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_region_validation      = true
  endpoints {
    secretsmanager = var.awscheck_endpoint
    sts            = var.awscheck_endpoint
  }
}
