# Planted rotation mistakes for CheckRotationStrategies.

variable "app_strategy" {
  type        = string
  description = "Strategy of the app secret."
  default     = "single-user"

  validation {
    condition     = contains(["single-user", "alternating-users"], var.app_strategy)
    error_message = "bad strategy"
  }
}

resource "aws_secretsmanager_secret" "admin" {
  name = "admin"
}

resource "aws_secretsmanager_secret" "app" {
  name = "app"
}

resource "aws_secretsmanager_secret" "report" {
  name = "report"
}

resource "aws_secretsmanager_secret_version" "admin" {
  secret_id        = aws_secretsmanager_secret.admin.id
  secret_string_wo = jsonencode({ username = "admin", password = "x" })
}

# No masterarn: alternating users cannot rotate it.
resource "aws_secretsmanager_secret_version" "app" {
  secret_id     = aws_secretsmanager_secret.app.id
  secret_string = jsonencode({ username = "app", host = "db" })
}

resource "aws_secretsmanager_secret_version" "report" {
  secret_id     = aws_secretsmanager_secret.report.id
  secret_string = jsonencode({ username = "report", masterarn = aws_secretsmanager_secret.admin.arn })
}

resource "aws_lambda_function" "rotator" {
  for_each      = toset(["single-user", "alternating-users"])
  function_name = "rotator-${each.key}"
  environment {
    variables = {
      ROTATION_STRATEGY = each.key
    }
  }
}

resource "aws_lambda_function" "chosen" {
  function_name = "chosen"
  environment {
    variables = {
      ROTATION_STRATEGY = var.app_strategy
    }
  }
}

# The master rotated by the alternating-users function.
resource "aws_secretsmanager_secret_rotation" "admin" {
  secret_id           = aws_secretsmanager_secret.admin.id
  rotation_lambda_arn = aws_lambda_function.rotator["alternating-users"].arn
}

# The variable may say alternating-users, and the app secret has no masterarn.
resource "aws_secretsmanager_secret_rotation" "app" {
  secret_id           = aws_secretsmanager_secret.app.id
  rotation_lambda_arn = aws_lambda_function.rotator[var.app_strategy].arn
}

# The master again, by a function whose strategy is a variable.
resource "aws_secretsmanager_secret_rotation" "admin_again" {
  secret_id           = aws_secretsmanager_secret.admin.arn
  rotation_lambda_arn = aws_lambda_function.chosen.arn
}

# Fine: report has masterarn.
resource "aws_secretsmanager_secret_rotation" "report" {
  secret_id           = aws_secretsmanager_secret.report.id
  rotation_lambda_arn = aws_lambda_function.rotator["alternating-users"].arn
}

# An existing secret, whose value the module does not write.
resource "aws_secretsmanager_secret_rotation" "external" {
  secret_id           = var.app_strategy
  rotation_lambda_arn = aws_lambda_function.rotator["alternating-users"].arn
}

# Created and never rotated.
resource "aws_secretsmanager_secret" "orphan" {
  name = "orphan"
}

# Functions keyed by strategy and network, the strategy read from how the key begins
# (modules/rotaudit's rotators).
variable "suffix" {
  type        = string
  description = "A network group's suffix."
  default     = ""
}

locals {
  chosen_key = "single-user${var.suffix}"
}

resource "aws_lambda_function" "keyed" {
  for_each      = toset(["single-user", "single-user-net1", "alternating-users-net1"])
  function_name = "keyed-${each.key}"
  environment {
    variables = {
      ROTATION_STRATEGY = regex("^(single-user|alternating-users)", each.key)[0]
    }
  }
}

# The master by a key that begins alternating-users.
resource "aws_secretsmanager_secret_rotation" "admin_keyed_alt" {
  secret_id           = aws_secretsmanager_secret.admin.id
  rotation_lambda_arn = aws_lambda_function.keyed["alternating-users${var.suffix}"].arn
}

# The master by a key read from a local: either strategy.
resource "aws_secretsmanager_secret_rotation" "admin_keyed_any" {
  secret_id           = aws_secretsmanager_secret.admin.id
  rotation_lambda_arn = aws_lambda_function.keyed[local.chosen_key].arn
}

# Fine: the key begins single-user.
resource "aws_secretsmanager_secret_rotation" "admin_keyed" {
  secret_id           = aws_secretsmanager_secret.admin.id
  rotation_lambda_arn = aws_lambda_function.keyed["single-user${var.suffix}"].arn
}
