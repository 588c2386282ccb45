# The whole deployment in one account: RDS PostgreSQL, the API on ECS behind an internal
# load balancer, 30-day rotation, the trail and the audit. envs/common is the full root
# (state backend, the generated master password, every variable); this is the least a
# caller sets.

provider "aws" {
  region = "eu-west-1"
}

# IAM events reach EventBridge in us-east-1 only.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
}

ephemeral "aws_secretsmanager_random_password" "master" {
  password_length    = 32
  exclude_characters = "/@\"'\\ :%?#&"
}

module "rotaudit" {
  source = "../.."
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  environment        = "example"
  availability_zones = ["eu-west-1a", "eu-west-1b"]
  api_image_tag      = "v1"
  dist_dir           = "../../../../dist"
  master_password_wo = ephemeral.aws_secretsmanager_random_password.master.random_password
}
