# Addresses of resources that moved into modules/_internal sub-modules: an existing
# deployment keeps its key, role, log group and function (terraform plan shows moves).

moved {
  from = aws_kms_key.this
  to   = module.key.aws_kms_key.this
}
moved {
  from = aws_kms_alias.this
  to   = module.key.aws_kms_alias.this[0]
}

moved {
  from = aws_cloudwatch_log_group.this
  to   = module.auditor.aws_cloudwatch_log_group.this
}
moved {
  from = aws_iam_role.this
  to   = module.auditor.aws_iam_role.this
}
moved {
  from = aws_iam_role_policy.this
  to   = module.auditor.aws_iam_role_policy.this
}
moved {
  from = aws_lambda_function.this
  to   = module.auditor.aws_lambda_function.this
}

# The home-region rules became one for_each (the access rule came with issue 19).
moved {
  from = aws_cloudwatch_event_rule.management
  to   = aws_cloudwatch_event_rule.this["management"]
}

moved {
  from = aws_cloudwatch_event_target.management
  to   = aws_cloudwatch_event_target.this["management"]
}

moved {
  from = aws_lambda_permission.management
  to   = aws_lambda_permission.this["management"]
}
