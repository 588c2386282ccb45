# Plan-only tests with mocked providers: need Terraform 1.7+ (mock_provider) and the
# provider schema from `terraform init`, so they run where the provider can be
# downloaded: cd into the module and run `terraform init && terraform test`.

mock_provider "aws" {
  source = "../_internal/testing/aws"
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

run "cheap_dev_public_tasks_and_nat" {
  command = plan

  variables {
    public_subnet_cidrs      = ["10.40.100.0/24", "10.40.101.0/24"]
    nat_gateway              = true
    interface_endpoint_zones = 1
    enable_logs_endpoint     = false
    enable_ecr_endpoints     = false
    https_egress_to_internet = ["api"]
    api_ingress_cidr_blocks  = ["10.40.0.0/16"]
    flow_log_traffic_type    = "REJECT"
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_route.private_nat) == 1 && length(aws_eip.nat) == 1
    error_message = "one NAT gateway with its address and the private default route"
  }
  assert {
    condition     = length(aws_vpc_endpoint.interface["secretsmanager"].subnet_ids) == 1
    error_message = "interface_endpoint_zones = 1 puts the endpoint in one subnet"
  }
  assert {
    condition     = toset(keys(aws_vpc_security_group_egress_rule.https_internet)) == toset(["api"])
    error_message = "HTTPS to the internet only for the roles named"
  }
  assert {
    condition     = aws_flow_log.this.traffic_type == "REJECT"
    error_message = "flow log traffic type follows the variable"
  }
}

run "nat_needs_public_subnets" {
  command = plan

  variables {
    nat_gateway = true
  }

  expect_failures = [aws_nat_gateway.this]
}

# Fargate tasks in private subnets without a NAT (the ECS database, issue 17) pull their
# image through ECR's endpoints and the S3 gateway, and ship logs and read secrets through
# endpoints too: private_tasks creates them whatever the enable_* switches say.
run "private_tasks_get_the_endpoints_they_pull_through" {
  command = plan

  variables {
    private_tasks                  = true
    enable_secretsmanager_endpoint = false
    enable_logs_endpoint           = false
    enable_ecr_endpoints           = false
    enable_s3_endpoint             = false
  }

  assert {
    condition     = toset(keys(aws_vpc_endpoint.interface)) == toset(["ecr_api", "ecr_dkr", "logs", "secretsmanager"])
    error_message = "private tasks without a NAT get the ECR, Logs and Secrets Manager interface endpoints"
  }
  assert {
    condition     = length(aws_vpc_endpoint.s3) == 1 && contains(keys(aws_vpc_security_group_egress_rule.s3), "database")
    error_message = "private tasks get the S3 gateway endpoint (image layers) and the database group may reach it"
  }
}

run "private_tasks_behind_a_nat_need_no_endpoints" {
  command = plan

  variables {
    private_tasks                  = true
    nat_gateway                    = true
    public_subnet_cidrs            = ["10.40.100.0/24", "10.40.101.0/24"]
    enable_secretsmanager_endpoint = false
    enable_logs_endpoint           = false
    enable_ecr_endpoints           = false
    enable_s3_endpoint             = false
  }

  assert {
    condition     = length(aws_vpc_endpoint.interface) == 0 && length(aws_vpc_endpoint.s3) == 0
    error_message = "with a NAT gateway the switches decide"
  }
}

# No load balancer, no load balancer group: a group open to clients that fronts nothing
# waits for the next resource someone attaches to it (issue 17).
run "no_alb_group_without_a_load_balancer" {
  command = plan

  variables {
    create_alb_security_group = false
  }

  assert {
    condition     = length(aws_security_group.alb) == 0 && length(aws_vpc_security_group_ingress_rule.alb_https) == 0 && length(aws_vpc_security_group_ingress_rule.api_from_alb) == 0
    error_message = "without a load balancer there is no alb group and no rule naming it"
  }
  assert {
    condition     = output.security_group_ids["alb"] == null
    error_message = "the alb group's id is null without it"
  }
}
