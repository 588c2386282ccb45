terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
      # IAM events are only delivered to EventBridge in us-east-1, so the IAM rule needs a
      # provider for that region (it may be the same as the default one).
      configuration_aliases = [aws.us_east_1]
    }
  }
}
