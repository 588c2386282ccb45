# The key moved into modules/_internal/kms-key: an existing deployment keeps it.
moved {
  from = aws_kms_key.this
  to   = module.key.aws_kms_key.this
}
moved {
  from = aws_kms_alias.this
  to   = module.key.aws_kms_alias.this[0]
}
