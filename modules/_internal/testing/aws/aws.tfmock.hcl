# The shared mocked hashicorp/aws provider of the plan-only tests (modules/*/tests and
# envs/common/tests): mock_provider "aws" { source = "<path to this folder>" }. A mock
# invents values for computed attributes; these data sources get fixed, valid ones, since
# the modules build ARNs, names and endpoints from them.

# Policy documents are rendered by the provider; a mock needs valid JSON in their place.
mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "eu-west-1"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition = "aws"
  }
}

# The deploying principal: an assumed role of a CI pipeline.
mock_data "aws_caller_identity" {
  defaults = {
    account_id = "111111111111"
    arn        = "arn:aws:sts::111111111111:assumed-role/rotaudit-deploy/ci"
  }
}

mock_data "aws_iam_session_context" {
  defaults = {
    issuer_arn = "arn:aws:iam::111111111111:role/rotaudit-deploy"
  }
}
