# Addresses of resources that moved into modules/_internal sub-modules: an existing
# deployment keeps its keys, roles, log groups and functions (terraform plan shows moves).

moved {
  from = aws_kms_key.this["app"]
  to   = module.key["app"].aws_kms_key.this
}
moved {
  from = aws_kms_alias.this["app"]
  to   = module.key["app"].aws_kms_alias.this[0]
}
moved {
  from = aws_kms_key.this["admin"]
  to   = module.key["admin"].aws_kms_key.this
}
moved {
  from = aws_kms_alias.this["admin"]
  to   = module.key["admin"].aws_kms_alias.this[0]
}

moved {
  from = aws_cloudwatch_log_group.rotator["single-user"]
  to   = module.rotator["single-user"].aws_cloudwatch_log_group.this
}
moved {
  from = aws_iam_role.rotator["single-user"]
  to   = module.rotator["single-user"].aws_iam_role.this
}
moved {
  from = aws_iam_role_policy.rotator["single-user"]
  to   = module.rotator["single-user"].aws_iam_role_policy.this
}
moved {
  from = aws_lambda_function.rotator["single-user"]
  to   = module.rotator["single-user"].aws_lambda_function.this
}

moved {
  from = aws_cloudwatch_log_group.rotator["alternating-users"]
  to   = module.rotator["alternating-users"].aws_cloudwatch_log_group.this
}
moved {
  from = aws_iam_role.rotator["alternating-users"]
  to   = module.rotator["alternating-users"].aws_iam_role.this
}
moved {
  from = aws_iam_role_policy.rotator["alternating-users"]
  to   = module.rotator["alternating-users"].aws_iam_role_policy.this
}
moved {
  from = aws_lambda_function.rotator["alternating-users"]
  to   = module.rotator["alternating-users"].aws_lambda_function.this
}

moved {
  from = aws_cloudwatch_log_group.bootstrap[0]
  to   = module.bootstrap[0].aws_cloudwatch_log_group.this
}
moved {
  from = aws_iam_role.bootstrap[0]
  to   = module.bootstrap[0].aws_iam_role.this
}
moved {
  from = aws_iam_role_policy.bootstrap[0]
  to   = module.bootstrap[0].aws_iam_role_policy.this
}
moved {
  from = aws_lambda_function.bootstrap[0]
  to   = module.bootstrap[0].aws_lambda_function.this
}

# Rotation became optional (create_rotation): the one rotation of each secret is index 0.
moved {
  from = aws_secretsmanager_secret_rotation.app
  to   = aws_secretsmanager_secret_rotation.app[0]
}
