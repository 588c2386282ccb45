output "api_url" {
  description = "Base URL of the rates API."
  value       = module.rotaudit.api.url
}
