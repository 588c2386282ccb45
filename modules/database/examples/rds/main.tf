provider "aws" {
  region = var.region
}

module "network" {
  source = "../../../network"

  name                 = "rotaudit-example"
  availability_zones   = var.availability_zones
  private_subnet_cidrs = ["10.40.0.0/24", "10.40.1.0/24"]
}

module "database" {
  source = "../.."

  name               = "rotaudit-example"
  vpc_id             = module.network.vpc_id
  subnet_ids         = module.network.private_subnet_ids
  security_group_id  = module.network.security_group_ids["database"]
  master_password_wo = ephemeral.aws_secretsmanager_random_password.master.random_password
}

# The master password exists only while Terraform runs: RDS receives it write-only. A real
# root writes the same value into the admin secret (see modules/secret-rotation).
ephemeral "aws_secretsmanager_random_password" "master" {
  password_length    = 32
  exclude_characters = "/@\"'\\ :%?#&"
}
