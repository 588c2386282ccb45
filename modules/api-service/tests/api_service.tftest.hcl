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

# prod's public load balancer kept no access logs (issue 17): with create_access_logs_bucket
# it logs to a bucket of its own that ELB may write to, encrypted the one way ELB accepts.
run "access_logs_in_a_bucket_elb_may_write" {
  command = plan

  variables {
    create_access_logs_bucket  = true
    access_logs_retention_days = 365
  }

  assert {
    condition     = length(aws_s3_bucket.access_logs) == 1 && aws_s3_bucket.access_logs[0].bucket == "rotaudit-test-alb-logs-111111111111"
    error_message = "a bucket of the load balancer's own"
  }
  assert {
    condition     = [for l in aws_lb.this[0].access_logs : l.enabled && l.prefix == "rotaudit-test" if l.bucket == "rotaudit-test-alb-logs-111111111111"] == [true]
    error_message = "the load balancer logs to that bucket under its name"
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.access_logs[0].rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "SSE-S3: ELB cannot write access logs to a KMS-encrypted bucket"
  }
  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.access_logs[0].statement : [for p in s.principals : p.identifiers] if contains(s.actions, "s3:PutObject") && s.effect != "Deny"])) == toset([
      data.aws_elb_service_account.current[0].arn, "logdelivery.elasticloadbalancing.amazonaws.com",
    ])
    error_message = "the bucket policy lets the regional ELB account and the log delivery service write, nobody else"
  }
  assert {
    condition     = output.access_logs_bucket == "rotaudit-test-alb-logs-111111111111"
    error_message = "the output names the bucket"
  }
}
