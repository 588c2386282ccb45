module "child" {
  source = "../child"
  count  = 1

  name = "x"
}

output "a" {
  description = "An output that exists, through count."
  value       = module.child[0].groups["b"]
}
