# Plan-only tests with mocked providers: need Terraform 1.7+ (mock_provider) and the
# provider schema from `terraform init`, so they run where the provider can be
# downloaded: cd into the module and run `terraform init && terraform test`.

mock_provider "aws" {
  # Policy documents are rendered by the provider; a mock needs valid JSON in their place.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }
}

variables {
  name                 = "rotaudit-test"
  availability_zones   = ["eu-west-1a", "eu-west-1b"]
  private_subnet_cidrs = ["10.40.0.0/24", "10.40.1.0/24"]
}

run "private_by_default_with_endpoints" {
  command = plan

  assert {
    condition     = length(aws_subnet.private) == 2 && length(aws_subnet.public) == 0
    error_message = "two private subnets and no public ones expected"
  }
  assert {
    condition     = length(aws_internet_gateway.this) == 0
    error_message = "a private-only VPC must have no internet gateway"
  }
  assert {
    condition     = toset(keys(aws_vpc_endpoint.interface)) == toset(["secretsmanager", "logs", "ecr_api", "ecr_dkr"])
    error_message = "default interface endpoints: Secrets Manager, Logs, ECR API and Docker"
  }
  assert {
    condition     = length(aws_vpc_endpoint.s3) == 1
    error_message = "the S3 gateway endpoint is on by default"
  }
}

run "endpoints_switch_off" {
  command = plan

  variables {
    enable_secretsmanager_endpoint = false
    enable_logs_endpoint           = false
    enable_ecr_endpoints           = false
    enable_s3_endpoint             = false
  }

  assert {
    condition     = length(aws_vpc_endpoint.interface) == 0 && length(aws_vpc_endpoint.s3) == 0
    error_message = "every endpoint must be switchable"
  }
}

run "rejects_one_zone" {
  command = plan

  variables {
    availability_zones = ["eu-west-1a"]
  }

  expect_failures = [var.availability_zones]
}

run "rejects_world_admin_cidr" {
  command = plan

  variables {
    admin_cidr_blocks = ["0.0.0.0/0"]
  }

  expect_failures = [var.admin_cidr_blocks]
}
