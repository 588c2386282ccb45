# terraform init -backend-config=backend.hcl
# The state bucket and lock table are created once per account (see envs/README.md).
bucket         = "rotaudit-tfstate-stage"
key            = "rotaudit/stage/terraform.tfstate"
region         = "eu-west-1"
encrypt        = true
dynamodb_table = "rotaudit-tflock"
