terraform {
  required_version = ">= 1.11.0" # write-only arguments and ephemeral values

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }

  # Partial configuration: the bucket, key, region and lock table come from backend.hcl
  # (terraform init -backend-config=backend.hcl), so this file is the same in every
  # environment.
  backend "s3" {}
}
