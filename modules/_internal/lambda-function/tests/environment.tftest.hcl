# Lambda refuses a function whose environment is over 4 KB (names and values together);
# the plan stops first, naming the function and its largest variable.

mock_provider "aws" {
  source = "../testing/aws"
}

variables {
  name               = "rotaudit-test-fn"
  description        = "test"
  zip_path           = "../../secret-rotation/tests/rotator.zip"
  policy_name        = "test"
  policy_json        = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  log_retention_days = 1
}

run "an_environment_at_4_kb" {
  command = plan

  variables {
    # 4 + 4092 = 4096 bytes.
    environment = { CONF = format("%04092d", 0) }
  }

  assert {
    condition     = length(aws_lambda_function.this.environment[0].variables["CONF"]) == 4092
    error_message = "an environment of exactly 4096 bytes is planned"
  }
}

run "an_environment_over_4_kb_fails_the_plan" {
  command = plan

  variables {
    environment = { CONF = format("%04092d", 0), X = "" }
  }

  expect_failures = [aws_lambda_function.this]
}
