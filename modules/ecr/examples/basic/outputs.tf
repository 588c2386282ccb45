output "repository_urls" {
  description = "Repository URLs by short name."
  value       = module.ecr.repository_urls
}
