# Points the AWS provider at the local emulator the way tflocal does: fixed test
# credentials, no account lookups, path-style S3, and every service's endpoint on the
# emulator's single port.
provider "aws" {
  region                      = var.region
  access_key                  = "test"
  secret_key                  = "test"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_region_validation      = true

  endpoints {
    cloudwatch     = var.endpoint
    dynamodb       = coalesce(var.dynamodb_endpoint, var.endpoint)
    ec2            = var.endpoint
    ecr            = var.endpoint
    events         = var.endpoint
    iam            = var.endpoint
    kms            = var.endpoint
    lambda         = var.endpoint
    logs           = var.endpoint
    s3             = var.endpoint
    secretsmanager = var.endpoint
    sns            = var.endpoint
    sqs            = var.endpoint
    sts            = var.endpoint
  }

  default_tags {
    tags = { Project = "rotaudit", Environment = "local", ManagedBy = "terraform" }
  }
}

provider "aws" {
  alias                       = "us_east_1"
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_region_validation      = true

  endpoints {
    events = var.endpoint
    iam    = var.endpoint
    sts    = var.endpoint
  }
}
