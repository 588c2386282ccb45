#!/usr/bin/env bash
# scripts/cost-plan.sh [--check] dev|stage|prod...: plans an environment offline and writes
# the plan, trimmed to what `rotaudit cost` reads, to internal/cost/testdata/plan-<env>.json.
# With --check it writes nothing and fails when a committed plan differs from a fresh one
# (the tables in envs/README.md are generated from those files, so they must be current).
#
# Offline means: no registry, no AWS account, no state bucket.
# - Providers come from filesystem mirrors found on this machine (hashicorp/aws, e.g. the one
#   under /opt/tf-plugins); hashicorp/random, when no mirror has it, is built from its Go
#   module (the Go proxy is reachable where the Terraform registry is not) into
#   ~/.cache/rotaudit/tools/tf-mirror. A CLI config written here points Terraform at them only.
# - The root is copied into a scratch folder with an override file: local backend, fake
#   credentials, skip_* flags and every endpoint on the local AWS emulator (moto), which
#   answers the plan-time data sources (caller identity, random password). The emulator of
#   the local stack is used (AWS_PORT); it is started when it is not running.
# - The Lambda zips are placeholders: the plan only hashes them, and cost does not depend on
#   their content.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

check=0
envs=()
for a in "$@"; do
  case "$a" in
    --check) check=1 ;;
    dev | stage | prod | dev-before | dev-nat | dev-ecsdb) envs+=("$a") ;;
    *) die "usage: scripts/cost-plan.sh [--check] dev|stage|prod|dev-before|dev-nat|dev-ecsdb... (got '$a')" ;;
  esac
done
[ ${#envs[@]} -gt 0 ] || envs=(dev stage prod dev-before dev-nat dev-ecsdb)

# Variants of dev for the README's table of savings: dev's terraform.tfvars with some
# values put back, so each line shows what a switch saves.
variant_vars() {
  case "$1" in
    dev-before) # dev as it was before the cheap-dev switches
      echo -var egress=endpoints -var interface_endpoint_zones=0 -var enable_logs_endpoint=true \
        -var enable_ecr_endpoints=true -var api_load_balancer=true -var container_insights=true \
        -var flow_log_traffic_type=ALL -var log_retention_days=30 ;;
    dev-nat) # a NAT gateway instead of public task addresses and the endpoint
      echo -var egress=nat -var enable_secretsmanager_endpoint=false ;;
    dev-ecsdb) # PostgreSQL as a Fargate task on EFS instead of RDS
      echo -var database_mode=ecs ;;
  esac
}

TF=$(command -v terraform || true)
[ -n "$TF" ] || die "terraform is not on PATH"
command -v jq >/dev/null || die "jq is not on PATH (it trims the plan JSON)"

# find_mirror NAME: prints the root of a filesystem mirror holding terraform-provider-NAME
# (the folder above registry.terraform.io), searching the usual places first.
find_mirror() {
  local bin
  bin=$(find /opt /usr/local /usr/share "$HOME/.terraform.d" "$HOME/.cache/rotaudit" \
    -path '*/registry.terraform.io/hashicorp/*' -name "terraform-provider-$1_*" -type f 2>/dev/null | sort | tail -1 || true)
  if [ -z "$bin" ]; then
    bin=$(find / -path /proc -prune -o -path '*/registry.terraform.io/hashicorp/*' \
      -name "terraform-provider-$1_*" -type f -print 2>/dev/null | sort | tail -1 || true)
  fi
  [ -n "$bin" ] || return 1
  # <root>/registry.terraform.io/hashicorp/<name>/<version>/<os_arch>/<binary>
  dirname "$(dirname "$(dirname "$(dirname "$(dirname "$(dirname "$bin")")")")")"
}

# The random provider at a pinned commit of its repository (its tags lack the /v3 suffix,
# so the Go proxy serves commits only as pseudo-versions); 3.9.0 is the release it carries.
RANDOM_MODULE=github.com/hashicorp/terraform-provider-random@v1.3.2-0.20260824155315-e1092b0cfc07
RANDOM_VERSION=3.9.0
build_random() {
  local mirror=$1 dir out
  out=$mirror/registry.terraform.io/hashicorp/random/$RANDOM_VERSION/$(go env GOOS)_$(go env GOARCH)
  say "building the hashicorp/random provider from $RANDOM_MODULE into $out"
  dir=$(go mod download -json "$RANDOM_MODULE" | jq -r .Dir)
  [ -d "$dir" ] || die "go mod download $RANDOM_MODULE failed"
  mkdir -p "$out"
  # The module cache is read-only and the module names itself by its old path, so build a
  # writable copy of it as its own main module.
  local src
  src=$(mktemp -d "${TMPDIR:-/tmp}/rotaudit-random-src.XXXXXX")
  cp -R "$dir/." "$src/" && chmod -R u+w "$src"
  (cd "$src" && GOFLAGS=-buildvcs=false go build -trimpath -o "$out/terraform-provider-random_v${RANDOM_VERSION}_x5" .) ||
    { rm -rf "$src"; die "building the random provider failed"; }
  rm -rf "$src"
}

aws_mirror=$(find_mirror aws) || die "no filesystem mirror with hashicorp/aws found (looked for terraform-provider-aws_* under registry.terraform.io/hashicorp/aws)"
random_mirror=
if grep -rqs 'hashicorp/random' modules envs --include='*.tf'; then
  random_mirror=$(find_mirror random || true)
  if [ -z "$random_mirror" ]; then
    random_mirror=${ROTAUDIT_TOOLS:-$HOME/.cache/rotaudit/tools}/tf-mirror
    build_random "$random_mirror"
  fi
fi
say "providers: hashicorp/aws from $aws_mirror${random_mirror:+, hashicorp/random from $random_mirror}"

if ! port_in_use "$AWS_PORT"; then
  say "the emulator is not listening on 127.0.0.1:$AWS_PORT: starting the local stack"
  scripts/stack.sh up
fi
endpoint=http://127.0.0.1:$AWS_PORT

work=$(mktemp -d "${TMPDIR:-/tmp}/rotaudit-cost-plan.XXXXXX")
trap 'rm -rf "$work"' EXIT
{
  printf 'provider_installation {\n'
  printf '  filesystem_mirror {\n    path    = "%s"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n' "$aws_mirror"
  if [ -n "$random_mirror" ]; then
    printf '  filesystem_mirror {\n    path    = "%s"\n    include = ["registry.terraform.io/hashicorp/random"]\n  }\n' "$random_mirror"
  fi
  printf '}\n'
} >"$work/cli.tfrc"
export TF_CLI_CONFIG_FILE=$work/cli.tfrc
export TF_IN_AUTOMATION=1 TF_INPUT=0
# The roots read ../../dist (dist_dir), which is $work/dist here.
mkdir -p "$work/dist"
for zip in $(grep -ho '[A-Za-z0-9_-]*\.zip' envs/common/*.tf | sort -u); do
  printf 'placeholder: the cost plan only hashes this file\n' >"$work/dist/$zip"
done
# COST_PLAN_MODULES: plan with another copy of modules/ (while developing a fix).
cp -R "${COST_PLAN_MODULES:-modules}" "$work/modules"

provider_override() { # provider_override ALIAS_LINE
  cat <<EOF
provider "aws" {
  $1
  access_key                  = "test"
  secret_key                  = "test"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true

  endpoints {
EOF
  for s in cloudwatch dynamodb ec2 ecr ecs efs elbv2 events iam kms lambda logs rds s3 secretsmanager servicediscovery sns sqs sts cloudtrail applicationautoscaling; do
    printf '    %-22s = "%s"\n' "$s" "$endpoint"
  done
  printf '  }\n}\n'
}

status=0
for env in "${envs[@]}"; do
  base=${env%%-*}
  dir=$work/envs/$env
  mkdir -p "$dir"
  cp -L envs/"$base"/*.tf envs/"$base"/terraform.tfvars "$dir"/
  aliases=$(grep -ho 'alias *= *"[A-Za-z0-9_-]*"' "$dir"/*.tf | sed 's/.*"\(.*\)"/\1/' | sort -u)
  {
    printf '# Written by scripts/cost-plan.sh: plan offline against the local emulator.\n'
    printf 'terraform {\n  backend "local" {}\n}\n\n'
    provider_override ''
    # Every aliased aws provider of the root gets the same treatment.
    for alias in $aliases; do
      printf '\n'
      provider_override "alias = \"$alias\""
    done
  } >"$dir/cost_override.tf"

  # An internet-facing load balancer refuses to plan without a certificate, which is set
  # only at deploy time; a placeholder ARN stands in (listeners cost nothing either way).
  # shellcheck disable=SC2207 # the variant's -var words have no spaces
  extra=($(variant_vars "$env"))
  if grep -Eq '^public_load_balancer *= *true' "$dir/terraform.tfvars" && ! grep -Eq '^certificate_arn *=' "$dir/terraform.tfvars"; then
    extra+=(-var "certificate_arn=arn:aws:acm:eu-west-1:123456789012:certificate/cost-plan-placeholder")
  fi

  say "plan envs/$env offline (emulator $endpoint)"
  "$TF" -chdir="$dir" init -input=false -no-color >"$work/init-$env.log" 2>&1 ||
    { cat "$work/init-$env.log" >&2; die "terraform init failed for $env"; }
  "$TF" -chdir="$dir" plan -input=false -no-color -refresh=false -lock=false \
    "${extra[@]}" -out="$work/$env.tfplan" >"$work/plan-$env.log" 2>&1 ||
    { tail -40 "$work/plan-$env.log" >&2; die "terraform plan failed for $env"; }

  # Keep what the estimator reads; drop long strings (policies, patterns, hashes) and
  # anything secret so the committed file is small, stable and harmless.
  out=$work/plan-$env.json
  "$TF" -chdir="$dir" show -json "$work/$env.tfplan" | jq -S '
    def trim: walk(if type == "string" and length > 160 then "(trimmed)" else . end);
    {
      format_version,
      terraform_version,
      variables: (.variables | with_entries(select(.key == "region" or .key == "environment" or .key == "availability_zones" or .key == "interface_endpoint_zones"))),
      resource_changes: [
        .resource_changes[]
        | select(.mode == "managed")
        | {address, module_address, type, name, index,
           change: {actions: .change.actions,
                    after: (.change.after // {} | del(.tags, .tags_all, .password, .secret_string, .master_password) | trim),
                    after_unknown: (.change.after_unknown // {} | del(.tags, .tags_all))}}
      ]
    }' >"$out"

  dest=internal/cost/testdata/plan-$env.json
  if [ "$check" = 1 ]; then
    if ! diff -u "$dest" "$out" >"$work/diff-$env" 2>&1; then
      head -40 "$work/diff-$env" >&2
      warn "$dest is not current: run scripts/cost-plan.sh $env and make cost-readme"
      status=1
    else
      say "$dest is current"
    fi
  else
    mkdir -p "$(dirname "$dest")"
    cp "$out" "$dest"
    say "wrote $dest ($(jq '.resource_changes | length' "$dest") resources)"
  fi
done
exit "$status"
