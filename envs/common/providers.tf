provider "aws" {
  region              = var.region
  allowed_account_ids = length(var.allowed_account_ids) > 0 ? var.allowed_account_ids : null

  default_tags {
    tags = local.tags
  }
}

# IAM events are delivered to EventBridge in us-east-1 only.
provider "aws" {
  alias               = "us_east_1"
  region              = "us-east-1"
  allowed_account_ids = length(var.allowed_account_ids) > 0 ? var.allowed_account_ids : null

  default_tags {
    tags = local.tags
  }
}

# The same account and region, for ephemeral resources only (the master password). An alias
# of its own because the plan tests mock the other providers, and mock providers cannot
# run ephemeral resources: the tests configure this one with dummy credentials and never
# open it.
provider "aws" {
  alias               = "ephemeral"
  region              = var.region
  allowed_account_ids = length(var.allowed_account_ids) > 0 ? var.allowed_account_ids : null
}
