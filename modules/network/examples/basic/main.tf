provider "aws" {
  region = var.region
}

module "network" {
  source = "../.."

  name                 = "rotaudit-example"
  availability_zones   = var.availability_zones
  private_subnet_cidrs = ["10.40.0.0/24", "10.40.1.0/24"]
  enable_kms_endpoint  = false
}
