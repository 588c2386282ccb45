# The key moved into modules/_internal/kms-key: an existing deployment keeps it.
moved {
  from = aws_kms_key.this[0]
  to   = module.key[0].aws_kms_key.this
}
