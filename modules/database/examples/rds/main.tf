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

  name              = "rotaudit-example"
  vpc_id            = module.network.vpc_id
  subnet_ids        = module.network.private_subnet_ids
  security_group_id = module.network.security_group_ids["database"]
}
