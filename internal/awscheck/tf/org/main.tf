# The organization path for make aws-check (scripts/aws-check.sh applies this root to a
# fresh moto server of its own, beside the environments): modules/org-central in the
# security account (the credentials' own) and modules/org-member in two member accounts,
# reached by AssumeRole (moto keeps the accounts apart by the credentials' account). One
# member is in the organization, which the bus admits by aws:PrincipalOrgID; the other is
# outside it and listed in member_account_ids: each of the bus policy's statements is what
# lets one of them put events.
#
# Skipped: the organization trail (create_organization_trail; moto 5.2.1 fails to read a
# trail back, and the check evaluates no policy on it), and the auditor's own resources: a
# function of the auditor's name stands in for modules/audit-alerts' Lambda, so that
# org-central's permissions have a resource policy to be read back on.
terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
  backend "local" {}
}

locals {
  name    = "rotaudit-awscheck"
  members = { org = var.org_member_account_id, listed = var.listed_member_account_id }
}

# Every provider talks to the moto server (AWS_ENDPOINT_URL) with test credentials, both
# set by scripts/aws-check.sh in the environment. The members: the security account's
# credentials assume a role in each (moto lets them; no such role needs to exist there).
provider "aws" {
  region = var.region
}

provider "aws" {
  alias  = "org_member"
  region = var.region
  assume_role {
    role_arn = "arn:aws:iam::${local.members.org}:role/awscheck-deployer"
  }
}

provider "aws" {
  alias  = "listed_member"
  region = var.region
  assume_role {
    role_arn = "arn:aws:iam::${local.members.listed}:role/awscheck-deployer"
  }
}

data "aws_caller_identity" "central" {}

# ------------------------------------------------------------------ security account

data "aws_iam_policy_document" "auditor_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# The auditor's stand-in: no policy of its own (the auditor's calls are checked in every
# environment), only the resource policy org-central's permissions write.
resource "aws_iam_role" "auditor" {
  name               = "${local.name}-auditor"
  assume_role_policy = data.aws_iam_policy_document.auditor_trust.json
}

resource "aws_lambda_function" "auditor" {
  function_name = "${local.name}-auditor"
  role          = aws_iam_role.auditor.arn
  filename      = var.auditor_zip
  handler       = "bootstrap"
  runtime       = "provided.al2023"
}

module "org_central" {
  source = "../../modules/org-central"

  name                 = local.name
  auditor_function_arn = aws_lambda_function.auditor.arn
  organization_id      = var.organization_id
  member_account_ids   = [local.members.listed]
}

# ------------------------------------------------------------------ member accounts

module "org_member" {
  source    = "../../modules/org-member"
  providers = { aws = aws.org_member }

  name                  = local.name
  central_event_bus_arn = module.org_central.event_bus_arn
}

# A name of its own: the check attaches inline policies to roles by name.
module "listed_member" {
  source    = "../../modules/org-member"
  providers = { aws = aws.listed_member }

  name                  = "${local.name}-listed"
  central_event_bus_arn = module.org_central.event_bus_arn
}

# What AWS Organizations would say and the emulator cannot: which accounts belong to the
# organization (aws:PrincipalOrgID of their principals). internal/awscheck reads it from
# the state; the accounts are the ones the emulator gave each provider.
resource "terraform_data" "awscheck_organization" {
  input = {
    id       = var.organization_id
    central  = data.aws_caller_identity.central.account_id
    accounts = [data.aws_caller_identity.central.account_id, module.org_member.account_id]
  }
}
