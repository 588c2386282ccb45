# tflint: the bundled Terraform ruleset only (no plugin downloads; never run tflint --init).
config {
  call_module_type = "none"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}
