provider "aws" {
  region = var.region
}

module "network" {
  source = "../../../network"

  name                 = "rotaudit-example"
  availability_zones   = var.availability_zones
  private_subnet_cidrs = ["10.40.0.0/24", "10.40.1.0/24"]
}

module "api" {
  source = "../.."

  name                   = "rotaudit-example"
  vpc_id                 = module.network.vpc_id
  task_subnet_ids        = module.network.private_subnet_ids
  lb_subnet_ids          = module.network.private_subnet_ids
  lb_security_group_id   = module.network.security_group_ids["alb"]
  task_security_group_id = module.network.security_group_ids["api"]
  image                  = var.image
  ecr_repository_arn     = var.ecr_repository_arn
  db_secret_arn          = var.db_secret_arn
  db_secret_kms_key_arn  = var.db_secret_kms_key_arn
  min_tasks              = 1
  max_tasks              = 2
}
