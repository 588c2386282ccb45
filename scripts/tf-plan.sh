#!/usr/bin/env bash
# make tf-plan ENV=dev|stage|prod|local: terraform init + plan for one environment, saved to
# envs/<env>/.terraform/tfplan (ignored by git) for a later
# `terraform -chdir=envs/<env> apply .terraform/tfplan`.
#
# dev, stage and prod need AWS credentials for the target account, the S3 state bucket and
# lock table named in envs/<env>/backend.hcl, and the provider plugins (registry access).
# local needs the local stack (make up) and TF_VAR_admin_initial_password.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

env=${1:-}
case "$env" in
  dev | stage | prod | local) ;;
  *) die "usage: scripts/tf-plan.sh dev|stage|prod|local (got '${env}')" ;;
esac
TF=$(command -v terraform || command -v tofu || true)
[ -n "$TF" ] || die "terraform (>= 1.5) or tofu is not on PATH"
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then unset TF_CLI_CONFIG_FILE; fi
dir=envs/$env

if [ ! -f dist/rotator.zip ] || [ ! -f dist/auditor.zip ]; then
  say "dist/*.zip missing: building them (scripts/package.sh)"
  "$ROOT/scripts/package.sh"
fi

if [ "$env" = local ]; then
  port_in_use "$AWS_PORT" || die "the emulator is not listening on 127.0.0.1:$AWS_PORT: run make up"
  [ -n "${TF_VAR_admin_initial_password:-}" ] ||
    die "set TF_VAR_admin_initial_password to the password of rotaudit_admin in the local stack (see envs/README.md)"
  say "init $dir (local state)"
  "$TF" -chdir="$dir" init -input=false
else
  if command -v aws >/dev/null 2>&1; then
    say "AWS identity: $(aws sts get-caller-identity --query Arn --output text 2>/dev/null || echo 'none: configure AWS credentials first')"
  fi
  say "init $dir with the S3 backend from $dir/backend.hcl"
  "$TF" -chdir="$dir" init -input=false -backend-config=backend.hcl ||
    die "terraform init failed: check the provider download, AWS credentials and that the state bucket and lock table in $dir/backend.hcl exist"
fi

say "plan $dir -> $dir/.terraform/tfplan"
"$TF" -chdir="$dir" plan -input=false -out=.terraform/tfplan
say "review the plan, then: terraform -chdir=$dir apply .terraform/tfplan"
