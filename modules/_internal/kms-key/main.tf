# Internal (modules/_internal/README.md): one customer-managed KMS key. Its policy starts
# with the statement every key of this project needs, the account administering the key
# through IAM, followed by the caller's own statements (which services may use it, how).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_iam_policy_document" "admin" {
  # checkov:skip=CKV_AWS_109:a key policy's "kms:*" for the account root is how AWS lets IAM policies govern the key; "*" is this key
  # checkov:skip=CKV_AWS_111:same statement: the account root administers its own key
  # checkov:skip=CKV_AWS_356:in a key policy the resource "*" means this key (internal/tfcheck allow-lists it)
  # checked: a key policy's resource is always "*" (it means this key).
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

data "aws_iam_policy_document" "this" {
  source_policy_documents = concat([data.aws_iam_policy_document.admin.json], var.policy_json == null ? [] : [var.policy_json])
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_days
  policy                  = data.aws_iam_policy_document.this.json
  tags                    = var.tags
}

# A key that must outlive `terraform destroy` (it encrypts what a destroy leaves behind,
# such as a database's final snapshot): destroying or replacing the key would also
# destroy this guard, which prevent_destroy refuses, so the whole plan stops before
# anything is deleted. Tearing down then takes a deliberate step that leaves the key in
# the account: `terraform state rm` of this module instance, then destroy.
resource "terraform_data" "keep_key_on_destroy" {
  count = var.prevent_destroy ? 1 : 0

  input = aws_kms_key.this.arn

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_kms_alias" "this" {
  count = var.alias == null ? 0 : 1

  name          = "alias/${var.alias}"
  target_key_id = aws_kms_key.this.key_id
}
