# Addresses of resources that moved into modules/_internal/ecs-task-roles: an existing
# deployment keeps its roles (terraform plan shows moves).

moved {
  from = aws_iam_role.execution
  to   = module.roles.aws_iam_role.execution
}
moved {
  from = aws_iam_role_policy.execution
  to   = module.roles.aws_iam_role_policy.execution
}
moved {
  from = aws_iam_role.task
  to   = module.roles.aws_iam_role.task
}
moved {
  from = aws_iam_role_policy.task
  to   = module.roles.aws_iam_role_policy.task
}
