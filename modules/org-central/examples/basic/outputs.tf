output "event_bus_arn" {
  description = "The central bus, for each member's modules/org-member."
  value       = module.org_central.event_bus_arn
}

output "trail_bucket_name" {
  description = "The organization trail's bucket, for modules/audit-alerts' trail_bucket_name."
  value       = module.org_central.trail_bucket_name
}
