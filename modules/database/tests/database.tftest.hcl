# Plan-only tests with mocked providers: need Terraform 1.7+ (mock_provider) and the
# provider schema from `terraform init`, so they run where the provider can be
# downloaded: cd into the module and run `terraform init && terraform test`.

mock_provider "aws" {
  source = "../_internal/testing/aws"
}

variables {
  name               = "rotaudit-test"
  vpc_id             = "vpc-1"
  subnet_ids         = ["subnet-1", "subnet-2"]
  security_group_id  = "sg-1"
  master_password_wo = "0123456789abcdef0123"
}

run "rds_by_default" {
  command = plan

  assert {
    condition     = length(aws_db_instance.this) == 1 && length(aws_ecs_service.this) == 0
    error_message = "rds mode creates an instance and no ECS service"
  }
  assert {
    condition     = aws_db_instance.this[0].storage_encrypted && !aws_db_instance.this[0].publicly_accessible
    error_message = "storage encrypted, never public"
  }
  assert {
    condition     = contains([for p in aws_db_parameter_group.this[0].parameter : p.name if p.value == "1"], "log_connections")
    error_message = "the parameter group logs connections"
  }
  assert {
    condition     = aws_cloudwatch_log_group.rds["postgresql"].name == "/aws/rds/instance/rotaudit-test/postgresql" && aws_cloudwatch_log_group.rds["postgresql"].retention_in_days == 365
    error_message = "the RDS export group is created here, with retention, before RDS would create it bare"
  }
  assert {
    condition     = toset(keys(aws_cloudwatch_log_group.rds)) == toset(aws_db_instance.this[0].enabled_cloudwatch_logs_exports)
    error_message = "every exported log has its group created here"
  }
  assert {
    condition     = output.identifier == "rotaudit-test" && output.postgresql_log_group_name == "/aws/rds/instance/rotaudit-test/postgresql"
    error_message = "the outputs name the instance and the group carrying its connection log"
  }
}

run "ecs_mode" {
  command = plan

  variables {
    engine_mode                   = "ecs"
    ecs_cluster_arn               = "arn:aws:ecs:eu-west-1:111111111111:cluster/rotaudit-test"
    ecs_image                     = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/rotaudit-test/postgres:16"
    ecs_master_secret_arn         = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/admin-AbCdEf"
    ecs_master_secret_kms_key_arn = "arn:aws:kms:eu-west-1:111111111111:key/1"
  }

  assert {
    condition     = length(aws_db_instance.this) == 0 && length(aws_ecs_service.this) == 1 && length(aws_efs_file_system.this) == 1
    error_message = "ecs mode creates the service and its EFS volume, no RDS"
  }
  assert {
    condition     = output.host == "postgres.rotaudit-test.internal"
    error_message = "the ECS database is reached through its Cloud Map name"
  }
  assert {
    condition     = output.tls_required == false
    error_message = "the ECS database speaks plain TCP inside the VPC"
  }
  assert {
    condition     = output.identifier == null && output.postgresql_log_group_name == "/ecs/rotaudit-test/postgres" && length(aws_cloudwatch_log_group.rds) == 0
    error_message = "in ecs mode PostgreSQL's log is the task's awslogs group, and there is no RDS identifier"
  }
}

run "aurora_mode" {
  command = plan

  variables {
    engine_mode    = "aurora"
    instance_class = "db.t4g.medium"
    multi_az       = true
    kms_key_arn    = "arn:aws:kms:eu-west-1:111111111111:key/db"
  }

  assert {
    condition     = length(aws_rds_cluster.this) == 1 && length(aws_rds_cluster_instance.this) == 2 && length(aws_db_instance.this) == 0 && length(aws_ecs_service.this) == 0
    error_message = "aurora mode with multi_az makes one cluster with a writer and a reader, no instance and no ECS service"
  }
  assert {
    condition     = aws_rds_cluster.this[0].engine == "aurora-postgresql" && aws_rds_cluster.this[0].engine_version == "16" && aws_rds_cluster_parameter_group.this[0].family == "aurora-postgresql16"
    error_message = "Aurora PostgreSQL of the same major as the rds mode"
  }
  assert {
    condition     = aws_rds_cluster.this[0].storage_encrypted && aws_rds_cluster.this[0].kms_key_id == "arn:aws:kms:eu-west-1:111111111111:key/db"
    error_message = "the cluster's storage is encrypted with the module's key"
  }
  assert {
    condition     = aws_rds_cluster.this[0].manage_master_user_password != true && aws_rds_cluster.this[0].master_password == null && aws_rds_cluster.this[0].master_password_wo_version == 1
    error_message = "the master password is written write-only, never RDS-managed nor in the state"
  }
  assert {
    condition     = contains([for p in aws_rds_cluster_parameter_group.this[0].parameter : p.name if p.value == "1"], "rds.force_ssl") && contains([for p in aws_rds_cluster_parameter_group.this[0].parameter : p.name if p.value == "1"], "log_connections") && contains([for p in aws_rds_cluster_parameter_group.this[0].parameter : p.name if p.value == "1"], "log_disconnections")
    error_message = "the cluster parameter group forces TLS and logs connections and disconnections"
  }
  assert {
    condition     = aws_rds_cluster.this[0].enabled_cloudwatch_logs_exports == toset(["postgresql"]) && toset(keys(aws_cloudwatch_log_group.rds)) == toset(["postgresql"])
    error_message = "the cluster exports the postgresql log, to a group created here"
  }
  assert {
    condition     = aws_rds_cluster.this[0].iam_database_authentication_enabled && aws_rds_cluster.this[0].copy_tags_to_snapshot && aws_rds_cluster.this[0].deletion_protection && aws_rds_cluster.this[0].final_snapshot_identifier == "rotaudit-test-final" && aws_rds_cluster.this[0].backup_retention_period == 7
    error_message = "IAM authentication, tags on snapshots, deletion protection, a final snapshot and backups as on the instance"
  }
  assert {
    condition     = alltrue([for i in aws_rds_cluster_instance.this : !i.publicly_accessible && i.performance_insights_enabled && i.performance_insights_kms_key_id == "arn:aws:kms:eu-west-1:111111111111:key/db" && i.monitoring_interval == 60 && i.instance_class == "db.t4g.medium"])
    error_message = "every cluster instance is private, with Performance Insights and enhanced monitoring"
  }
  assert {
    condition     = output.identifier == "rotaudit-test" && output.postgresql_log_group_name == "/aws/rds/cluster/rotaudit-test/postgresql" && output.port == 5432 && output.tls_required
    error_message = "the outputs name the cluster and its connection log group, and require TLS, as in rds mode"
  }
}

run "aurora_single_instance_without_multi_az" {
  command = plan

  variables {
    engine_mode         = "aurora"
    instance_class      = "db.r7g.large"
    deletion_protection = false
    skip_final_snapshot = true
  }

  assert {
    condition     = length(aws_rds_cluster_instance.this) == 1 && !aws_rds_cluster.this[0].deletion_protection && aws_rds_cluster.this[0].final_snapshot_identifier == null
    error_message = "one instance without multi_az; deletion protection and the final snapshot follow the variables"
  }
}

run "aurora_rejects_micro_classes" {
  command = plan

  variables {
    engine_mode = "aurora"
  }

  expect_failures = [var.instance_class]
}

run "rejects_unknown_mode" {
  command = plan

  variables {
    engine_mode = "serverless"
  }

  expect_failures = [var.engine_mode]
}

# A final snapshot is encrypted with the module's key: destroying the key with the
# database would make the snapshot unreadable after the key's deletion window (issue 17).
run "key_outlives_a_final_snapshot" {
  command = plan

  assert {
    condition     = output.kms_key_retained_on_destroy && module.key[0].prevent_destroy
    error_message = "with a final snapshot (the default) the database key refuses to be destroyed"
  }
}

run "throwaway_database_key_is_deletable" {
  command = plan

  variables {
    skip_final_snapshot = true
  }

  assert {
    condition     = !output.kms_key_retained_on_destroy && !module.key[0].prevent_destroy
    error_message = "without a final snapshot nothing needs the key after a destroy"
  }
}

run "rejects_dropping_the_key_of_a_final_snapshot" {
  command = plan

  variables {
    retain_kms_key = false
  }

  expect_failures = [var.retain_kms_key]
}
