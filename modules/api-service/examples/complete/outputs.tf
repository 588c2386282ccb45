output "url" {
  description = "Base URL of the example API (inside the VPC)."
  value       = module.api.url
}
