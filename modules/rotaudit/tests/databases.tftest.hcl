# Many databases (issue 21) plan from an empty state: each gets its own secrets and
# bootstrap, all share one rotator per strategy, and the rotators' pinned masters and the
# auditor's lists hold every database. The provider is mocked (modules/_internal/testing).

mock_provider "aws" {
  source = "../_internal/testing/aws"
}
mock_provider "aws" {
  alias  = "us_east_1"
  source = "../_internal/testing/aws-us-east-1"
}

variables {
  environment        = "test"
  availability_zones = ["eu-west-1a", "eu-west-1b"]
  api_image_tag      = "v1"
  dist_dir           = "../../envs/common/tests/dist"
  master_password_wo = ""
  deployer_arns      = ["arn:aws:iam::111111111111:role/rotaudit-deploy"]
  databases = {
    rates = {
      mode      = "rds"
      app_users = [{ username = "rates_app", strategy = "single-user" }]
    }
    ledger = {
      mode = "external"
      external = {
        host             = "ledger.internal.example.com"
        port             = 5432
        db_name          = "ledger"
        admin_secret_arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:ledger/master-AbCdEf"
      }
      app_users = [{ username = "ledger_app", strategy = "single-user", rotation_days = 7 }]
    }
    books = {
      mode = "external"
      external = {
        host             = "ledger.internal.example.com"
        port             = 5432
        db_name          = "books"
        admin_secret_arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:ledger/master-AbCdEf"
      }
      app_users     = [{ username = "books_app" }]
      rotate_master = false
    }
  }
}

run "one_rotator_per_strategy_for_every_database" {
  command = plan

  assert {
    condition     = length(module.rotator) == 2 && length(module.secret_rotation) == 3 && length(module.database) == 1
    error_message = "two rotators (single-user, alternating-users) for three databases, one RDS instance"
  }
  assert {
    condition     = alltrue([for k, m in module.secret_rotation : length(m.rotators) == 0 && m.bootstrap != null])
    error_message = "each database has its own bootstrap and no rotator of its own"
  }
  assert {
    condition     = module.rotator["alternating-users"].environment["MASTER_SECRET_ARNS"] == "arn:aws:secretsmanager:eu-west-1:111111111111:secret:ledger/master-AbCdEf"
    error_message = "the alternating rotator pins the master of the databases it rotates (books: the external server's)"
  }
  assert {
    condition     = module.rotator["single-user"].environment["MASTER_SECRET_ARNS"] == ""
    error_message = "the single-user rotator pins no master"
  }
  assert {
    condition     = toset(keys(aws_lambda_permission.rotator)) == toset(["rates/app", "rates/admin", "ledger/app", "ledger/admin", "books/app"])
    error_message = "one invoke permission per rotated secret; the shared master rotates once"
  }
  assert {
    condition     = aws_lambda_permission.rotator["rates/app"].statement_id == "AllowSecretsManager-app" && aws_lambda_permission.rotator["ledger/app"].statement_id == "AllowSecretsManager-ledger-app"
    error_message = "the rates database keeps a single-database deployment's statement ids; the others' are unique"
  }
  assert {
    condition     = toset(keys(aws_secretsmanager_secret_rotation.admin)) == toset(["rates", "ledger"]) && aws_secretsmanager_secret_rotation.app["ledger"].rotation_rules[0].automatically_after_days == 7
    error_message = "masters rotate once each, and each app secret on its own schedule"
  }
  assert {
    condition     = module.secret_rotation["ledger"].app_secret_name == "rotaudit/test/ledger/app" && module.secret_rotation["rates"].app_secret_name == "rotaudit/test/app"
    error_message = "rates keeps a single-database deployment's secret names; another database's carry its key"
  }
}

# An Aurora PostgreSQL cluster beside an RDS instance: modules/database makes it (its own
# tests check the cluster's settings), the secrets name its writer endpoint and the auditor
# follows it as it follows an instance.
run "aurora_cluster" {
  command = plan

  variables {
    db_multi_az = true
    databases = {
      rates = { mode = "rds", app_users = [{ username = "rates_app" }] }
      fx    = { mode = "aurora", app_users = [{ username = "fx_app" }] }
    }
    api_database = "fx"
  }

  override_resource {
    target          = module.database["fx"].aws_rds_cluster.this[0]
    override_during = plan
    values = {
      endpoint = "rotaudit-test-fx.cluster-abc.eu-west-1.rds.amazonaws.com"
    }
  }
  override_resource {
    target          = module.database["fx"].module.key[0].aws_kms_key.this
    override_during = plan
    values = {
      arn = "arn:aws:kms:eu-west-1:111111111111:key/fx"
    }
  }

  assert {
    condition     = length(module.database) == 2 && length(module.database_ecs) == 0
    error_message = "the rds instance and the aurora cluster are both made by the database module"
  }
  assert {
    condition     = output.db_host == "rotaudit-test-fx.cluster-abc.eu-west-1.rds.amazonaws.com" && output.database.port == 5432
    error_message = "the aurora database's secrets name the cluster's writer endpoint"
  }
  assert {
    condition     = output.database.kms_key_arn == "arn:aws:kms:eu-west-1:111111111111:key/fx" && output.database.rds_cluster_arn != null && output.database.rds_instance_arn == null
    error_message = "the cluster is encrypted with its database's key, and is a cluster, not an instance"
  }
  assert {
    condition     = output.database.tls_required && module.rotator["alternating-users"].environment["DB_ALLOW_PLAINTEXT"] == "false"
    error_message = "the cluster forces TLS (rds.force_ssl): the rotators never fall back to plain text"
  }
  assert {
    condition     = output.database.aurora_instance_identifiers == ["rotaudit-test-fx-1", "rotaudit-test-fx-2"]
    error_message = "db_multi_az gives the cluster a writer and a reader"
  }
  assert {
    condition     = contains(module.audit_alerts.db_log_group_names, "/aws/rds/cluster/rotaudit-test-fx/postgresql") && contains(module.audit_alerts.db_log_group_names, "/aws/rds/instance/rotaudit-test/postgresql")
    error_message = "the auditor reads the cluster's exported postgresql log as it reads the instance's"
  }
  assert {
    condition     = output.database.identifier == "rotaudit-test-fx"
    error_message = "the cluster's identifier is the auditor's databases entry"
  }
}

run "aurora_instance_count" {
  command = plan

  variables {
    databases = {
      rates = { mode = "aurora", app_users = [{ username = "rates_app" }], aurora_instance_count = 3 }
    }
  }

  assert {
    condition     = length(output.database.aurora_instance_identifiers) == 3
    error_message = "aurora_instance_count sets the cluster's instances"
  }
}

run "rejects_aurora_instance_count_elsewhere" {
  command = plan

  variables {
    databases = {
      rates = { mode = "rds", app_users = [{ username = "rates_app" }], aurora_instance_count = 3 }
    }
  }

  expect_failures = [var.databases]
}

run "rejects_two_rotations_of_one_master" {
  command = plan

  variables {
    databases = {
      a = {
        mode      = "external"
        external  = { host = "h", port = 5432, db_name = "a", admin_secret_arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:m-AbCdEf" }
        app_users = [{ username = "a_app" }]
      }
      b = {
        mode      = "external"
        external  = { host = "h", port = 5432, db_name = "b", admin_secret_arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:m-AbCdEf" }
        app_users = [{ username = "b_app" }]
      }
    }
    api_database = "a"
  }

  expect_failures = [var.databases]
}

# One rotator per strategy and network: an external database in a network of its own
# gets rotators placed there, and a plaintext database among TLS ones gets its own, so
# DB_ALLOW_PLAINTEXT is on only where it is needed. Databases on the environment's network
# keep the single-database names.
run "rotators_per_network_and_tls" {
  command = plan

  variables {
    databases = {
      rates = { mode = "rds", app_users = [{ username = "rates_app", strategy = "single-user" }] }
      ledger = {
        mode      = "external"
        external  = { host = "ledger.corp.example.com", port = 5432, db_name = "ledger", admin_secret_arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:ledger/master-AbCdEf" }
        app_users = [{ username = "ledger_app", strategy = "alternating-users" }]
        network   = { subnet_ids = ["subnet-0a1b2c3d"], security_group_ids = ["sg-0a1b2c3d"] }
      }
      legacy = {
        mode      = "external"
        external  = { host = "legacy.internal", port = 5432, db_name = "legacy", admin_secret_arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:legacy/master-AbCdEf", tls = false }
        app_users = [{ username = "legacy_app", strategy = "single-user" }]
      }
    }
  }

  # The network's subnet and security group, read from AWS at plan: one VPC.
  override_data {
    target = data.aws_subnet.network
    values = { vpc_id = "vpc-0ledger" }
  }
  override_data {
    target = data.aws_security_group.network
    values = { vpc_id = "vpc-0ledger" }
  }

  assert {
    condition     = length(module.rotator) == 4 && contains(keys(module.rotator), "single-user") && contains(keys(module.rotator), "single-user-plaintext") && length([for k in keys(module.rotator) : k if can(regex("^(single|alternating)-users?-net[0-9a-f]{6}$", k))]) == 2
    error_message = "four rotators: single-user (the environment's network, TLS), single-user-plaintext, and single-user and alternating-users for ledger's network"
  }
  assert {
    condition     = module.rotator["single-user"].environment["DB_ALLOW_PLAINTEXT"] == "false" && module.rotator["single-user-plaintext"].environment["DB_ALLOW_PLAINTEXT"] == "true"
    error_message = "only the plaintext database's rotator may fall back to plain text"
  }
  assert {
    condition     = alltrue([for k, f in module.rotator : f.subnet_ids == ["subnet-0a1b2c3d"] if strcontains(k, "-net")])
    error_message = "ledger's rotators run in ledger's network"
  }
  assert {
    condition     = startswith(output.secret_rotator_names["ledger/app"], "rotaudit-test-rotator-alternating-users-net") && startswith(output.secret_rotator_names["ledger/admin"], "rotaudit-test-rotator-single-user-net")
    error_message = "ledger's secrets rotate with its network's rotators"
  }
  assert {
    condition     = output.secret_rotator_names["legacy/app"] == "rotaudit-test-rotator-single-user-plaintext" && output.secret_rotator_names["rates/app"] == "rotaudit-test-rotator-single-user"
    error_message = "legacy rotates with the plaintext rotator, rates with the environment's"
  }
  assert {
    condition     = one([for k, f in module.rotator : f.environment["MASTER_SECRET_ARNS"] if startswith(k, "alternating-users")]) == "arn:aws:secretsmanager:eu-west-1:111111111111:secret:ledger/master-AbCdEf"
    error_message = "ledger's alternating rotator pins ledger's master only"
  }
  assert {
    condition     = output.api_secret_rotator_names == { app = "rotaudit-test-rotator-single-user", admin = "rotaudit-test-rotator-single-user" }
    error_message = "api_secret_rotator_names names the rotators of the API's database"
  }
}

# Lambda refuses subnets and security groups from more than one VPC; the plan says so first.
run "rejects_a_network_across_vpcs" {
  command = plan

  variables {
    databases = {
      rates = { mode = "rds", app_users = [{ username = "rates_app" }] }
      ledger = {
        mode      = "external"
        external  = { host = "ledger.corp.example.com", port = 5432, db_name = "ledger", admin_secret_arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:ledger/master-AbCdEf" }
        app_users = [{ username = "ledger_app" }]
        network   = { subnet_ids = ["subnet-0a1b2c3d", "subnet-0e0f0a0b"], security_group_ids = ["sg-0a1b2c3d"] }
      }
    }
  }

  override_data {
    target = data.aws_subnet.network["subnet-0a1b2c3d"]
    values = { vpc_id = "vpc-0ledger" }
  }
  override_data {
    target = data.aws_subnet.network["subnet-0e0f0a0b"]
    values = { vpc_id = "vpc-0other" }
  }
  override_data {
    target = data.aws_security_group.network
    values = { vpc_id = "vpc-0ledger" }
  }

  expect_failures = [data.aws_security_group.network]
}

run "rejects_a_network_on_a_database_made_here" {
  command = plan

  variables {
    databases = {
      rates = { mode = "rds", app_users = [{ username = "rates_app" }], network = { subnet_ids = ["subnet-0a1b2c3d"], security_group_ids = ["sg-0a1b2c3d"] } }
    }
  }

  expect_failures = [var.databases]
}

run "rejects_a_network_without_security_groups" {
  command = plan

  variables {
    databases = {
      rates = {
        mode      = "external"
        external  = { host = "h", port = 5432, db_name = "a", admin_secret_arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:m-AbCdEf" }
        app_users = [{ username = "a_app" }]
        network   = { subnet_ids = ["subnet-0a1b2c3d"], security_group_ids = [] }
      }
    }
  }

  expect_failures = [var.databases]
}

# A database with two app users (issue 21): the first keeps the app secret and its
# addresses; the second gets rotaudit/<env>/app-<username>, its own key, its own rotation
# by the shared rotator of its strategy, a place in its database's bootstrap and in the
# auditor's lists.
run "two_app_users" {
  command = plan

  variables {
    databases = {
      rates = {
        mode = "rds"
        app_users = [
          { username = "rates_app", strategy = "single-user" },
          { username = "report_app", strategy = "alternating-users", rotation_days = 5 },
        ]
      }
    }
  }

  override_resource {
    target          = module.secret_rotation["rates"].aws_secretsmanager_secret.more_app["app-report_app"]
    override_during = plan
    values = {
      arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/app-report_app-AbCdEf"
    }
  }
  override_resource {
    target          = module.secret_rotation["rates"].aws_secretsmanager_secret.app
    override_during = plan
    values = {
      arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/app-XyZaBc"
    }
  }
  override_resource {
    target          = module.secret_rotation["rates"].aws_secretsmanager_secret.admin[0]
    override_during = plan
    values = {
      arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/admin-QwErTy"
    }
  }

  assert {
    condition     = module.secret_rotation["rates"].app_secret_name == "rotaudit/test/app" && module.secret_rotation["rates"].more_app_secrets["app-report_app"].name == "rotaudit/test/app-report_app"
    error_message = "the first user keeps the app secret; the second's is app-<username>"
  }
  assert {
    condition     = toset(keys(aws_secretsmanager_secret_rotation.app)) == toset(["rates"]) && toset(keys(aws_secretsmanager_secret_rotation.more_app)) == toset(["rates/report_app"])
    error_message = "the first user's rotation keeps its address; the second has its own"
  }
  assert {
    condition     = aws_secretsmanager_secret_rotation.more_app["rates/report_app"].rotation_rules[0].automatically_after_days == 5 && aws_secretsmanager_secret_rotation.app["rates"].rotation_rules[0].automatically_after_days == 30
    error_message = "each user rotates on its own schedule"
  }
  assert {
    condition     = toset(keys(aws_lambda_permission.rotator)) == toset(["rates/app", "rates/app-report_app", "rates/admin"]) && aws_lambda_permission.rotator["rates/app-report_app"].statement_id == "AllowSecretsManager-app-report_app"
    error_message = "one invoke permission per rotated secret, the second user's with its own statement id"
  }
  assert {
    condition     = output.secret_rotator_names["rates/app-report_app"] == "rotaudit-test-rotator-alternating-users" && output.secret_rotator_names["rates/app"] == "rotaudit-test-rotator-single-user"
    error_message = "each user's secret is rotated by the shared rotator of its own strategy"
  }
  assert {
    condition     = module.rotator["alternating-users"].environment["MASTER_SECRET_ARNS"] == "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/admin-QwErTy"
    error_message = "the alternating rotator, rotating only the second user, pins that database's master"
  }
  assert {
    condition     = module.secret_rotation["rates"].bootstrap.environment["APP_USERNAME"] == "rates_app,report_app" && module.secret_rotation["rates"].bootstrap.environment["APP_SECRET_ARNS"] == "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/app-XyZaBc,arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/test/app-report_app-AbCdEf"
    error_message = "the database's one bootstrap creates both roles and sets both secrets' first passwords"
  }
  assert {
    condition     = module.secret_rotation["rates"].app_usernames == ["rates_app", "report_app", "report_app_clone"] && module.secret_rotation["rates"].alternating_pairs == [["report_app", "report_app_clone"]]
    error_message = "the auditor's login baseline (db_logins users and alternating_pairs) gets both users, the second's alternating pair"
  }
}

run "app_users_rejects_a_clone_collision" {
  command = plan

  variables {
    databases = {
      rates = {
        mode = "rds"
        app_users = [
          { username = "rates_app", strategy = "alternating-users" },
          { username = "rates_app_clone", strategy = "single-user" },
        ]
      }
    }
  }

  expect_failures = [var.databases]
}

run "app_users_rejects_a_duplicate" {
  command = plan

  variables {
    databases = {
      rates = { mode = "rds", app_users = [{ username = "rates_app" }, { username = "rates_app", strategy = "single-user" }] }
    }
  }

  expect_failures = [var.databases]
}

run "app_users_rejects_the_master" {
  command = plan

  variables {
    databases = {
      rates = { mode = "rds", app_users = [{ username = "rates_app" }, { username = "rotaudit_admin", strategy = "single-user" }] }
    }
  }

  expect_failures = [var.databases]
}

run "app_users_rejects_a_reader_that_is_no_principal_arn" {
  command = plan

  variables {
    databases = {
      rates = { mode = "rds", app_users = [{ username = "rates_app" }, { username = "report_app", reader_arns = ["reporting"] }] }
    }
  }

  expect_failures = [var.databases]
}

# Thirty databases on one external server: the people's group policies come in parts, known
# at plan although no secret's ARN is.
run "a_fleet_of_thirty_databases" {
  command = plan

  variables {
    databases = merge(
      { rates = { mode = "rds", app_users = [{ username = "rates_app" }] } },
      { for i in range(29) : "db${i}" => {
        mode          = "external"
        external      = { host = "fleet.internal.example.com", port = 5432, db_name = "db${i}", admin_secret_arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:fleet/master-AbCdEf" }
        app_users     = [{ username = "app${i}" }]
        rotate_master = i == 0
      } },
    )
  }

  assert {
    condition     = length([for k, _ in module.db_access_iam.group_policy_names : k if startswith(k, "auditors")]) == 5 && length([for k, _ in module.db_access_iam.group_policy_names : k if startswith(k, "db-operators")]) == 3
    error_message = "60 secrets (30 app, the RDS master, the shared external one 29 times) in parts of 12 make five auditors' parts; 30 app secrets three operators'"
  }
}

