#!/usr/bin/env bash
# make tf-plan ENV=dev|stage|prod|local: terraform init + plan for one environment, saved to
# envs/<env>/.terraform/tfplan (ignored by git) for a later
# `terraform -chdir=envs/<env> apply .terraform/tfplan` (with the same TF_CLI_CONFIG_FILE:
# `source scripts/lib.sh; source scripts/tf-lib.sh; tf_setup` sets it).
#
# dev, stage and prod need AWS credentials for the target account and the S3 state bucket
# and lock table named in envs/<env>/backend.hcl.
# local needs the local stack (make up): it plans against the emulator on AWS_PORT and
# the stack's PostgreSQL on PG_PORT, with the stack's rotaudit/local/admin as master secret.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/tf-lib.sh"
cd "$ROOT"

env=${1:-}
case "$env" in
  dev | stage | prod | local) ;;
  *) die "usage: scripts/tf-plan.sh dev|stage|prod|local (got '${env}')" ;;
esac
tf_setup
tf_ensure_zips rotator auditor dbbootstrap
dir=envs/$env

if [ "$env" = local ]; then
  port_in_use "$AWS_PORT" || die "the emulator is not listening on 127.0.0.1:$AWS_PORT: run make up"
  export TF_VAR_endpoint=http://127.0.0.1:$AWS_PORT TF_VAR_db_port=$PG_PORT TF_VAR_second_db_port=$PG2_PORT
  say "init $dir (local state; emulator $TF_VAR_endpoint, PostgreSQL 127.0.0.1:$PG_PORT)"
  "$TF" -chdir="$dir" init -input=false -lockfile=readonly >/dev/null
else
  if command -v aws >/dev/null 2>&1; then
    say "AWS identity: $(aws sts get-caller-identity --query Arn --output text 2>/dev/null || echo 'none: configure AWS credentials first')"
  fi
  say "init $dir with the S3 backend from $dir/backend.hcl"
  "$TF" -chdir="$dir" init -input=false -lockfile=readonly -backend-config=backend.hcl ||
    die "terraform init failed: check AWS credentials and that the state bucket and lock table in $dir/backend.hcl exist"
fi

say "plan $dir -> $dir/.terraform/tfplan"
"$TF" -chdir="$dir" plan -input=false -out=.terraform/tfplan
say "review the plan, then: terraform -chdir=$dir apply .terraform/tfplan"
