data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # A Fargate task in a private subnet without a NAT gateway reaches AWS only through
  # endpoints: it pulls its image from ECR (ecr.api for the token and manifest, ecr.dkr for
  # the registry, the S3 gateway for the layers), ships its log through CloudWatch Logs
  # and has its secrets injected from Secrets Manager before the container starts. Without
  # them the task never starts, so private_tasks turns them on whatever the enable_*
  # switches say (https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html).
  task_endpoints = var.private_tasks && !var.nat_gateway

  # One entry per switchable interface endpoint; the key is the service suffix.
  interface_endpoints = merge(
    var.enable_secretsmanager_endpoint || local.task_endpoints ? { secretsmanager = "secretsmanager" } : {},
    var.enable_logs_endpoint || local.task_endpoints ? { logs = "logs" } : {},
    var.enable_ecr_endpoints || local.task_endpoints ? { ecr_api = "ecr.api", ecr_dkr = "ecr.dkr" } : {},
    var.enable_kms_endpoint ? { kms = "kms" } : {},
  )
  s3_endpoint = var.enable_s3_endpoint || local.task_endpoints
  public      = length(var.public_subnet_cidrs) > 0

  # Interface endpoints cost per zone: endpoint_zones > 0 puts them in the first that many
  # private subnets only (a cheap dev gives up the endpoints' zone redundancy).
  endpoint_subnet_count = var.interface_endpoint_zones > 0 ? min(var.interface_endpoint_zones, length(var.private_subnet_cidrs)) : length(var.private_subnet_cidrs)
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true # interface endpoints with private DNS need both

  tags = merge(var.tags, { Name = var.name })
}

# The default security group of a VPC allows all traffic between its members; take every
# rule away so nothing can use it by accident.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name}-default-closed" })
}

resource "aws_subnet" "private" {
  count = length(var.private_subnet_cidrs)

  vpc_id                  = aws_vpc.this.id
  cidr_block              = var.private_subnet_cidrs[count.index]
  availability_zone       = var.availability_zones[count.index % length(var.availability_zones)]
  map_public_ip_on_launch = false

  tags = merge(var.tags, { Name = "${var.name}-private-${count.index}", Tier = "private" })
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name}-private" })
}

resource "aws_route_table_association" "private" {
  count = length(aws_subnet.private)

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

resource "aws_subnet" "public" {
  count = length(var.public_subnet_cidrs)

  vpc_id                  = aws_vpc.this.id
  cidr_block              = var.public_subnet_cidrs[count.index]
  availability_zone       = var.availability_zones[count.index % length(var.availability_zones)]
  map_public_ip_on_launch = false # only the load balancer lives here; it gets its own addresses

  tags = merge(var.tags, { Name = "${var.name}-public-${count.index}", Tier = "public" })
}

resource "aws_internet_gateway" "this" {
  count = local.public ? 1 : 0

  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = var.name })
}

resource "aws_route_table" "public" {
  count = local.public ? 1 : 0

  vpc_id = aws_vpc.this.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this[0].id
  }

  tags = merge(var.tags, { Name = "${var.name}-public" })
}

resource "aws_route_table_association" "public" {
  count = length(aws_subnet.public)

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public[0].id
}

# Security groups. They live here, not in the modules that use them, so that the database
# rules can name the API and rotator groups without a dependency cycle between modules.

# Only with a load balancer (create_alb_security_group): a group that allows HTTP and HTTPS
# from clients but fronts nothing is an open door waiting for a resource to walk through.
resource "aws_security_group" "alb" {
  # checkov:skip=CKV2_AWS_5:the api-service, database and secret-rotation modules attach the groups this module creates (invisible to this check)
  count = var.create_alb_security_group ? 1 : 0

  name        = "${var.name}-alb"
  description = "Load balancer in front of the rates API"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-alb" })
}

resource "aws_security_group" "api" {
  # checkov:skip=CKV2_AWS_5:the api-service, database and secret-rotation modules attach the groups this module creates (invisible to this check)
  name        = "${var.name}-api"
  description = "Rates API tasks"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-api" })
}

resource "aws_security_group" "rotator" {
  # checkov:skip=CKV2_AWS_5:the api-service, database and secret-rotation modules attach the groups this module creates (invisible to this check)
  name        = "${var.name}-rotator"
  description = "Secret rotation Lambda"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-rotator" })
}

resource "aws_security_group" "database" {
  # checkov:skip=CKV2_AWS_5:the api-service, database and secret-rotation modules attach the groups this module creates (invisible to this check)
  name        = "${var.name}-database"
  description = "PostgreSQL: reachable only from the API, the rotator and the admin path"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-database" })
}

resource "aws_security_group" "endpoints" {
  name        = "${var.name}-endpoints"
  description = "Interface VPC endpoints: HTTPS from inside the VPC"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-endpoints" })
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  count = var.create_alb_security_group ? 1 : 0

  security_group_id = aws_security_group.alb[0].id
  description       = "HTTPS from clients"
  cidr_ipv4         = local.public ? "0.0.0.0/0" : var.cidr_block
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  count = var.create_alb_security_group ? 1 : 0

  security_group_id = aws_security_group.alb[0].id
  description       = "HTTP from clients (redirected to HTTPS when a certificate is set)"
  cidr_ipv4         = local.public ? "0.0.0.0/0" : var.cidr_block
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
}

resource "aws_vpc_security_group_egress_rule" "alb_to_api" {
  count = var.create_alb_security_group ? 1 : 0

  security_group_id            = aws_security_group.alb[0].id
  description                  = "To the API tasks"
  referenced_security_group_id = aws_security_group.api.id
  ip_protocol                  = "tcp"
  from_port                    = 3000
  to_port                      = 3000
}

resource "aws_vpc_security_group_ingress_rule" "api_from_alb" {
  count = var.create_alb_security_group ? 1 : 0

  security_group_id            = aws_security_group.api.id
  description                  = "From the load balancer"
  referenced_security_group_id = aws_security_group.alb[0].id
  ip_protocol                  = "tcp"
  from_port                    = 3000
  to_port                      = 3000
}

resource "aws_vpc_security_group_ingress_rule" "database" {
  for_each = {
    api     = aws_security_group.api.id
    rotator = aws_security_group.rotator.id
  }

  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the ${each.key}"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_vpc_security_group_ingress_rule" "database_admin" {
  for_each = toset(var.admin_cidr_blocks)

  security_group_id = aws_security_group.database.id
  description       = "PostgreSQL from the admin access path"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
}

# The API and the rotator talk to PostgreSQL and, over HTTPS, to AWS APIs (through the
# endpoints or the S3 prefix list).
resource "aws_vpc_security_group_egress_rule" "to_database" {
  for_each = {
    api     = aws_security_group.api.id
    rotator = aws_security_group.rotator.id
  }

  security_group_id            = each.value
  description                  = "PostgreSQL"
  referenced_security_group_id = aws_security_group.database.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_vpc_security_group_egress_rule" "https" {
  for_each = {
    api      = aws_security_group.api.id
    rotator  = aws_security_group.rotator.id
    database = aws_security_group.database.id
  }

  security_group_id = each.value
  description       = "HTTPS to AWS APIs inside the VPC"
  cidr_ipv4         = var.cidr_block
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "s3" {
  for_each = local.s3_endpoint ? {
    api      = aws_security_group.api.id
    database = aws_security_group.database.id
  } : {}

  security_group_id = each.value
  description       = "HTTPS to S3 through the gateway endpoint (ECR image layers)"
  prefix_list_id    = aws_vpc_endpoint.s3[0].prefix_list_id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "endpoints" {
  security_group_id = aws_security_group.endpoints.id
  description       = "HTTPS from the VPC"
  cidr_ipv4         = var.cidr_block
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_endpoint" "interface" {
  for_each = local.interface_endpoints

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${data.aws_region.current.name}.${each.value}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = slice(aws_subnet.private[*].id, 0, local.endpoint_subnet_count)
  security_group_ids  = [aws_security_group.endpoints.id]

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

resource "aws_vpc_endpoint" "s3" {
  count = local.s3_endpoint ? 1 : 0

  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private.id]

  tags = merge(var.tags, { Name = "${var.name}-s3" })
}

# A NAT gateway for the private subnets (nat_gateway = true): one, in the first public
# subnet, so the tasks and the rotator reach AWS APIs without interface endpoints. One
# gateway is one zone: when that zone fails, the private subnets lose their way out.
resource "aws_eip" "nat" {
  count = var.nat_gateway ? 1 : 0

  domain = "vpc"
  tags   = merge(var.tags, { Name = "${var.name}-nat" })
}

resource "aws_nat_gateway" "this" {
  count = var.nat_gateway ? 1 : 0

  allocation_id = aws_eip.nat[0].id
  subnet_id     = try(aws_subnet.public[0].id, null)
  tags          = merge(var.tags, { Name = var.name })

  depends_on = [aws_internet_gateway.this]

  lifecycle {
    precondition {
      condition     = local.public
      error_message = "nat_gateway needs public_subnet_cidrs: the gateway lives in a public subnet."
    }
  }
}

resource "aws_route" "private_nat" {
  count = var.nat_gateway ? 1 : 0

  route_table_id         = aws_route_table.private.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[0].id
}

# HTTPS to the internet for the roles that need it when AWS APIs are reached through a NAT
# gateway or, for tasks in public subnets, their own public address.
resource "aws_vpc_security_group_egress_rule" "https_internet" {
  for_each = { for k, v in {
    api      = aws_security_group.api.id
    rotator  = aws_security_group.rotator.id
    database = aws_security_group.database.id
  } : k => v if contains(var.https_egress_to_internet, k) }

  security_group_id = each.value
  description       = "HTTPS to public AWS API endpoints (no interface endpoint for them)"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

# Direct access to the API tasks (for an environment without a load balancer).
resource "aws_vpc_security_group_ingress_rule" "api_direct" {
  for_each = toset(var.api_ingress_cidr_blocks)

  security_group_id = aws_security_group.api.id
  description       = "Rates API straight from clients (no load balancer)"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 3000
  to_port           = 3000
}

resource "aws_cloudwatch_log_group" "flow" {
  # checkov:skip=CKV_AWS_338:log retention is a variable (log_retention_days); prod keeps 365 days, dev, stage and the emulator less to save cost
  name              = "/vpc/${var.name}/flow-logs"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_flow_log" "this" {
  vpc_id               = aws_vpc.this.id
  traffic_type         = var.flow_log_traffic_type
  log_destination_type = "cloud-watch-logs"
  log_destination      = aws_cloudwatch_log_group.flow.arn
  iam_role_arn         = aws_iam_role.flow.arn
  tags                 = var.tags
}

# Confused deputy: only this account's flow logs may have the service assume the role
# (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html).
data "aws_iam_policy_document" "flow_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:vpc-flow-log/*"]
    }
  }
}

resource "aws_iam_role" "flow" {
  name_prefix        = "${var.name}-flow-"
  assume_role_policy = data.aws_iam_policy_document.flow_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "flow" {
  statement {
    sid = "WriteFlowLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogStreams",
    ]
    resources = [aws_cloudwatch_log_group.flow.arn, "${aws_cloudwatch_log_group.flow.arn}:*"]
  }
}

resource "aws_iam_role_policy" "flow" {
  name   = "write-flow-logs"
  role   = aws_iam_role.flow.id
  policy = data.aws_iam_policy_document.flow.json
}
