provider "aws" {
  region = var.region
}

data "aws_availability_zones" "available" {
  state = "available"
}

module "network" {
  source = "../.."

  name                 = "rotaudit-example"
  availability_zones   = slice(data.aws_availability_zones.available.names, 0, 2)
  private_subnet_cidrs = ["10.40.0.0/24", "10.40.1.0/24"]
  enable_kms_endpoint  = false
}
