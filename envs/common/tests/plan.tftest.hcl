# The whole environment plans from an empty state, with this folder's terraform.tfvars
# (envs/dev, envs/stage and envs/prod link their tests/ here, so `terraform test` in each
# of them plans that environment). The provider is mocked: no credentials, no AWS. Every
# computed attribute (ids, ARNs) stays unknown at plan time, as on a first real plan, so a
# count or for_each that depends on one fails here.
# The Lambda zips are stand-ins (tests/dist); `make package` builds the real ones.

mock_provider "aws" {
  source = "../../modules/_internal/testing/aws"
}
mock_provider "aws" {
  alias  = "us_east_1"
  source = "../../modules/_internal/testing/aws-us-east-1"
}

# Never opened (generate_master_password = false below), but configured: no credential
# lookup, no account id request.
provider "aws" {
  alias                       = "ephemeral"
  region                      = "eu-west-1"
  access_key                  = "mock"
  secret_key                  = "mock"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
}

variables {
  dist_dir = "tests/dist"
  # Mock providers cannot run ephemeral resources (Terraform 1.11): no generated password.
  generate_master_password = false
  # prod's terraform.tfvars asks for the API's certificate before the first apply.
  certificate_arn = "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"
  # The mocked principal running Terraform (modules/_internal/testing); unlisted, the
  # secret-rotation module's check deployer_is_listed fails the plan test.
  deployer_arns = ["arn:aws:iam::111111111111:role/rotaudit-deploy"]
}

run "plans_from_empty_state" {
  command = plan

  assert {
    condition     = module.rotaudit.secret_rotation.rotation_strategies["admin"] == "single-user"
    error_message = "the master secret rotates single-user in every environment"
  }
  assert {
    condition     = module.rotaudit.secret_rotation.rotation_strategies["app"] == var.app_rotation_strategy
    error_message = "the app secret rotates with app_rotation_strategy"
  }
  assert {
    condition     = length(module.rotaudit.rotators) == length(distinct(values(module.rotaudit.secret_rotation.rotation_strategies)))
    error_message = "one rotator function per strategy in use"
  }
  assert {
    condition     = module.rotaudit.secret_rotation.bootstrap.name == "rotaudit-${var.environment}-db-bootstrap"
    error_message = "the bootstrap function is <prefix>-db-bootstrap"
  }
  assert {
    condition     = module.rotaudit.database.tls_required == (var.database_mode == "rds")
    error_message = "RDS requires TLS; the rotator gets DB_ALLOW_PLAINTEXT only for the ECS database"
  }
}

run "deletion_protection_follows_the_environment" {
  command = plan

  assert {
    condition     = module.rotaudit.audit_alerts.deletion_protection == var.audit_table_deletion_protection
    error_message = "the audit table's deletion protection is the environment's choice"
  }
  assert {
    condition     = var.environment == "dev" ? !var.audit_table_deletion_protection && !var.db_deletion_protection : var.audit_table_deletion_protection && var.db_deletion_protection
    error_message = "dev is deletable; stage and prod are protected"
  }
  assert {
    condition     = module.rotaudit.database.kms_key_retained_on_destroy == !var.db_skip_final_snapshot
    error_message = "an environment that keeps a final snapshot keeps the key that reads it (destroy refuses until the key leaves the state)"
  }
}

run "auditor_reads_the_database_log" {
  command = plan

  assert {
    condition     = module.rotaudit.audit_alerts.db_log_group_names == [module.rotaudit.database.postgresql_log_group_name]
    error_message = "the auditor is subscribed to the group carrying PostgreSQL's connection log"
  }
  assert {
    condition     = var.database_mode == "rds" ? module.rotaudit.database.postgresql_log_group_name == "/aws/rds/instance/rotaudit-${var.environment}/postgresql" && module.rotaudit.database.identifier == "rotaudit-${var.environment}" : module.rotaudit.database.identifier == null
    error_message = "RDS exports to the group the database module creates first, and the auditor knows the instance"
  }
  assert {
    condition     = !var.s3_backfill
    error_message = "the S3 log-file notification is for backfills only: EventBridge is the live path"
  }
}

# The ECS-database variant in this environment's network: its PostgreSQL task runs in the
# private subnets, so without a NAT it needs the endpoints Fargate pulls the image, ships
# the log and injects the master secret through (issue 17: dev had none of them).
run "ecs_database_reaches_ecr_logs_and_secrets" {
  command = plan

  variables {
    database_mode = "ecs"
  }

  assert {
    condition = var.egress == "nat" || alltrue([
      for k in ["ecr_api", "ecr_dkr", "logs", "secretsmanager", "s3"] : contains(keys(module.rotaudit.network.vpc_endpoint_ids), k)
    ])
    error_message = "the ECS database's task can pull its image: ECR API, ECR Docker, Logs, Secrets Manager and S3 endpoints (or a NAT)"
  }
}

# The load balancer's security group exists exactly when the load balancer does (dev has
# none: issue 17 found its group open and unused).
run "alb_group_only_with_the_load_balancer" {
  command = plan

  assert {
    # (with a load balancer the group's id is unknown in a plan; api-service refuses a
    # load balancer without a group)
    condition     = var.api_load_balancer ? true : module.rotaudit.network.security_group_ids["alb"] == null
    error_message = "the alb security group is created only with the load balancer"
  }
}
