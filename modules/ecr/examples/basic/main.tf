provider "aws" {
  region = var.region
}

module "ecr" {
  source = "../.."

  name         = "rotaudit-example"
  force_delete = true
}
