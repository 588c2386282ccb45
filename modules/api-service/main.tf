data "aws_region" "current" {}

locals {
  container_port = 3000
  https          = var.create_load_balancer && var.certificate_arn != null
  lb             = var.create_load_balancer ? 1 : 0
  environment = merge(var.extra_environment, {
    # The API fetches the secret at run time (and again after a failed login), so a
    # rotation reaches running tasks without a deployment.
    DB_SECRET_ID = var.db_secret_arn
    PORT         = tostring(local.container_port)
  })
}

resource "aws_ecs_cluster" "this" {
  # checkov:skip=CKV_AWS_65:Container Insights is on by default; container_insights = false is a cheap dev's saving (envs/README.md says what it gives up)
  name = var.name

  setting {
    name  = "containerInsights"
    value = var.container_insights ? "enabled" : "disabled"
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  # checkov:skip=CKV_AWS_338:log retention is a variable (log_retention_days); prod keeps 365 days, dev, stage and the emulator less to save cost
  name              = "/ecs/${var.name}/rates-api"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "ReadAppSecret"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [var.db_secret_arn]
  }

  statement {
    sid       = "DecryptAppSecret"
    actions   = ["kms:Decrypt"]
    resources = [var.db_secret_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

# The execution role pulls the image and writes the log group; the task role reads the
# app secret (modules/_internal/ecs-task-roles).
module "roles" {
  source = "../_internal/ecs-task-roles"

  name_prefix           = "${var.name}-api"
  repository_arns       = [var.ecr_repository_arn]
  log_group_arn         = aws_cloudwatch_log_group.this.arn
  execution_policy_name = "pull-and-log"
  task_policy_name      = "read-app-secret"
  task_policy_json      = data.aws_iam_policy_document.task.json
  tags                  = var.tags
}

resource "aws_ecs_task_definition" "this" {
  family                   = "${var.name}-rates-api"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory_mb
  execution_role_arn       = module.roles.execution_role_arn
  task_role_arn            = module.roles.task_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "ARM64"
  }

  container_definitions = jsonencode([
    {
      name                   = "rates-api"
      image                  = var.image
      essential              = true
      readonlyRootFilesystem = true
      user                   = "65532:65532"
      portMappings = [
        { containerPort = local.container_port, protocol = "tcp" },
      ]
      environment = [for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.this.name
          awslogs-region        = data.aws_region.current.name
          awslogs-stream-prefix = "rates-api"
        }
      }
    },
  ])

  tags = var.tags
}

# Without a load balancer (create_load_balancer = false) the tasks are reached at their own
# addresses: no stable name, no health-checked routing, no TLS termination.
resource "aws_lb" "this" {
  count = local.lb

  name                       = var.name
  load_balancer_type         = "application"
  internal                   = var.internal
  subnets                    = var.lb_subnet_ids
  security_groups            = [var.lb_security_group_id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.lb_deletion_protection

  dynamic "access_logs" {
    for_each = local.log_bucket == null ? [] : [local.log_bucket]
    content {
      bucket  = access_logs.value
      prefix  = var.name
      enabled = true
    }
  }

  tags = var.tags

  # ELB checks that it may write to the bucket when logging is switched on.
  depends_on = [aws_s3_bucket_policy.access_logs]

  lifecycle {
    precondition {
      condition     = var.internal || var.certificate_arn != null
      error_message = "An internet-facing load balancer needs certificate_arn: plain HTTP is for internal load balancers only."
    }
    precondition {
      condition     = var.lb_security_group_id != null
      error_message = "create_load_balancer needs lb_security_group_id (the network module's alb group, created with create_alb_security_group)."
    }
  }
}

moved {
  from = aws_lb.this
  to   = aws_lb.this[0]
}

resource "aws_lb_target_group" "this" {
  # checkov:skip=CKV_AWS_378:TLS ends at the load balancer; the hop to the tasks stays inside the VPC's private subnets
  count = local.lb

  name                 = var.name
  port                 = local.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    path                = "/healthz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags
}

moved {
  from = aws_lb_target_group.this
  to   = aws_lb_target_group.this[0]
}

resource "aws_lb_listener" "https" {
  count = local.https ? 1 : 0

  load_balancer_arn = aws_lb.this[0].arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this[0].arn
  }

  tags = var.tags
}

resource "aws_lb_listener" "http" {
  # checkov:skip=CKV_AWS_2:plain HTTP only without certificate_arn, which a precondition allows for internal load balancers only; with a certificate port 80 just redirects
  count = local.lb

  load_balancer_arn = aws_lb.this[0].arn
  port              = 80
  protocol          = "HTTP"

  # With a certificate, port 80 only redirects; without one it serves the API.
  default_action {
    type             = local.https ? "redirect" : "forward"
    target_group_arn = local.https ? null : aws_lb_target_group.this[0].arn

    dynamic "redirect" {
      for_each = local.https ? [1] : []
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }
  }

  tags = var.tags
}

moved {
  from = aws_lb_listener.http
  to   = aws_lb_listener.http[0]
}

resource "aws_ecs_service" "this" {
  name                              = "rates-api"
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.this.arn
  desired_count                     = var.min_tasks
  launch_type                       = "FARGATE"
  health_check_grace_period_seconds = var.create_load_balancer ? 30 : null
  propagate_tags                    = "SERVICE"
  enable_execute_command            = false

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.task_subnet_ids
    security_groups  = [var.task_security_group_id]
    assign_public_ip = var.assign_public_ip
  }

  dynamic "load_balancer" {
    for_each = aws_lb_target_group.this
    content {
      target_group_arn = load_balancer.value.arn
      container_name   = "rates-api"
      container_port   = local.container_port
    }
  }

  tags = var.tags

  lifecycle {
    ignore_changes = [desired_count] # autoscaling owns it after creation
  }

  depends_on = [aws_lb_listener.http, aws_lb_listener.https]
}

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_in_cooldown  = 120
    scale_out_cooldown = 30
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "requests" {
  count = var.requests_per_target > 0 && var.create_load_balancer ? 1 : 0

  name               = "${var.name}-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.requests_per_target
    scale_in_cooldown  = 120
    scale_out_cooldown = 30
    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.this[0].arn_suffix}/${aws_lb_target_group.this[0].arn_suffix}"
    }
  }
}
