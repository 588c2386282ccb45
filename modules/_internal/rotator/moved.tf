# Before this module, modules/secret-rotation and modules/rotaudit called
# modules/_internal/lambda-function directly as module.rotator[<strategy>]; both now call
# this module by that name, so the function, role, policy and log group of an existing
# deployment sit one level down (module.function). Moving them here covers both callers
# and every strategy; Terraform refuses the shorter form (module.rotator["s"] into
# module.rotator["s"].module.function) because the instance moved from still exists. The
# callers' older moves chain into these (scripts/tf-upgrade-check.sh).

moved {
  from = aws_cloudwatch_log_group.this
  to   = module.function.aws_cloudwatch_log_group.this
}

moved {
  from = aws_iam_role.this
  to   = module.function.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.this
  to   = module.function.aws_iam_role_policy.this
}

moved {
  from = aws_lambda_function.this
  to   = module.function.aws_lambda_function.this
}
