# The mocked aws.us_east_1 provider of the plan-only tests (IAM events reach EventBridge in
# us-east-1 only): mock_provider "aws" { alias = "us_east_1", source = "<this folder>" }.

mock_data "aws_region" {
  defaults = {
    name = "us-east-1"
  }
}
