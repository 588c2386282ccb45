module "child" {
  source = "../child"

  colour = "red"
}

module "missing" {
  source = "../nowhere"
}

module "registry" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.0.0"
}

output "a" {
  description = "References an output that does not exist."
  value       = module.child.nope
}

output "b" {
  description = "References a key the literal object output lacks."
  value       = module.child.groups["c"]
}

output "c" {
  description = "References a module that is not declared."
  value       = module.ghost.x
}
