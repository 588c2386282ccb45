# Addresses of resources that moved into modules/_internal sub-modules: an existing
# deployment keeps its key and roles (terraform plan shows moves).

moved {
  from = aws_kms_key.this[0]
  to   = module.key[0].aws_kms_key.this
}

moved {
  from = aws_iam_role.ecs_execution[0]
  to   = module.ecs_roles[0].aws_iam_role.execution
}
moved {
  from = aws_iam_role_policy.ecs_execution[0]
  to   = module.ecs_roles[0].aws_iam_role_policy.execution
}
moved {
  from = aws_iam_role.ecs_task[0]
  to   = module.ecs_roles[0].aws_iam_role.task
}
moved {
  from = aws_iam_role_policy.ecs_task[0]
  to   = module.ecs_roles[0].aws_iam_role_policy.task
}
