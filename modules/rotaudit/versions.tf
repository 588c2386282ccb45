terraform {
  required_version = ">= 1.11.0" # write-only arguments and ephemeral values

  required_providers {
    aws = {
      source                = "hashicorp/aws"
      version               = ">= 5.100, < 7.0"
      configuration_aliases = [aws.us_east_1]
    }
  }
}
