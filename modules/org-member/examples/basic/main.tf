# Applied in a member account with that account's credentials: once in each region the
# audit covers, and in us-east-1 for the IAM events (forward iam only there).
provider "aws" {
  region = var.region
}

provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
}

module "org_member" {
  source = "../.."

  name                  = "rotaudit-example"
  central_event_bus_arn = var.central_event_bus_arn
  forward               = var.region == "us-east-1" ? ["management", "access", "iam"] : ["management", "access"]
}

# IAM is global and its events reach EventBridge in us-east-1 only.
module "org_member_iam" {
  source    = "../.."
  count     = var.region == "us-east-1" ? 0 : 1
  providers = { aws = aws.us_east_1 }

  name                  = "rotaudit-example-iam"
  central_event_bus_arn = var.central_event_bus_arn
  forward               = ["iam"]
}
