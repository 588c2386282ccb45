# Applied in the security account, beside modules/audit-alerts (whose audit configuration
# then lists the same member_account_ids). Each member applies modules/org-member with
# this module's event_bus_arn.
provider "aws" {
  region = var.region
}

module "org_central" {
  source = "../.."

  name                      = "rotaudit-example"
  auditor_function_arn      = var.auditor_function_arn
  organization_id           = var.organization_id
  member_account_ids        = var.member_account_ids
  create_organization_trail = true
  trail_force_destroy       = true
}
