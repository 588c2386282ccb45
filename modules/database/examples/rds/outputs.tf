output "host" {
  description = "Endpoint address of the example database."
  value       = module.database.host
}
