# Plan-only tests with mocked providers: need Terraform 1.7+ (mock_provider) and the
# provider schema from `terraform init`, so they run where the provider can be
# downloaded: cd into the module and run `terraform init && terraform test`.

mock_provider "aws" {
  source = "../_internal/testing/aws"
}

variables {
  name                   = "rotaudit-test"
  vpc_id                 = "vpc-1"
  task_subnet_ids        = ["subnet-1", "subnet-2"]
  lb_subnet_ids          = ["subnet-1", "subnet-2"]
  lb_security_group_id   = "sg-alb"
  task_security_group_id = "sg-api"
  image                  = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/rotaudit-test/rates-api:0.1.0"
  ecr_repository_arn     = "arn:aws:ecr:eu-west-1:111111111111:repository/rotaudit-test/rates-api"
  db_secret_arn          = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/app-AbCdEf"
  db_secret_kms_key_arn  = "arn:aws:kms:eu-west-1:111111111111:key/1"
}

run "internal_http" {
  command = plan

  assert {
    condition     = aws_lb_target_group.this[0].health_check[0].path == "/healthz"
    error_message = "the load balancer checks /healthz"
  }
  assert {
    condition     = aws_ecs_service.this.deployment_circuit_breaker[0].enable && aws_ecs_service.this.deployment_circuit_breaker[0].rollback
    error_message = "deployments roll back on failure"
  }
  assert {
    condition     = strcontains(aws_ecs_task_definition.this.container_definitions, var.db_secret_arn)
    error_message = "the secret ARN reaches the task as DB_SECRET_ID"
  }
  assert {
    condition     = length(aws_lb_listener.https) == 0
    error_message = "no HTTPS listener without a certificate"
  }
}

run "public_needs_certificate" {
  command = plan

  variables {
    internal = false
  }

  expect_failures = [aws_lb.this]
}

run "rejects_latest_tag" {
  command = plan

  variables {
    image = "rates-api:latest"
  }

  expect_failures = [var.image]
}

run "without_load_balancer" {
  command = plan

  variables {
    create_load_balancer = false
    assign_public_ip     = true
    container_insights   = false
  }

  assert {
    condition     = length(aws_lb.this) == 0 && length(aws_lb_listener.http) == 0 && length(aws_lb_target_group.this) == 0
    error_message = "no load balancer, listener or target group when create_load_balancer is false"
  }
  assert {
    condition     = length(aws_ecs_service.this.load_balancer) == 0 && aws_ecs_service.this.network_configuration[0].assign_public_ip
    error_message = "the service registers with no target group and gives its tasks public addresses"
  }
  assert {
    condition     = output.url == null
    error_message = "no URL without a load balancer"
  }
}
