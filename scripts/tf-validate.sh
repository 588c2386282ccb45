#!/usr/bin/env bash
# make tf-validate: `terraform init -backend=false` + `terraform validate` on every root
# (envs/*, modules/*/examples/*) and every module, then `terraform test` (plan-only, mocked
# providers) in each module that has tests/ when Terraform is 1.7 or later.
#
# Needs the hashicorp/aws and hashicorp/random provider plugins: network access to
# registry.terraform.io, or a plugin mirror / TF_PLUGIN_CACHE_DIR. Machines without them
# (like the CI sandbox) run `make tf-check`, which needs no provider.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

TF=$(command -v terraform || command -v tofu || true)
[ -n "$TF" ] || die "terraform (>= 1.5) or tofu is not on PATH"
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then unset TF_CLI_CONFIG_FILE; fi
# One plugin cache for every root, so the provider downloads once.
export TF_PLUGIN_CACHE_DIR=${TF_PLUGIN_CACHE_DIR:-${ROTAUDIT_TOOLS:-$HOME/.cache/rotaudit/tools}/terraform-plugins}
mkdir -p "$TF_PLUGIN_CACHE_DIR"

# validate evaluates filebase64sha256() on the Lambda zips.
if [ ! -f dist/rotator.zip ] || [ ! -f dist/auditor.zip ]; then
  say "dist/*.zip missing: building them (scripts/package.sh)"
  "$ROOT/scripts/package.sh"
fi

version=$("$TF" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([0-9.]*\)".*/\1/p')
say "using $("$TF" version | head -1)"

mapfile -t DIRS < <(find modules envs -name '*.tf' -not -path '*/.terraform/*' -printf '%h\n' | sort -u)
failed=()
for d in "${DIRS[@]}"; do
  say "validate $d"
  data=$(mktemp -d)
  if ! TF_DATA_DIR=$data "$TF" -chdir="$d" init -backend=false -input=false -no-color >"$data/init.log" 2>&1; then
    cat "$data/init.log" >&2
    rm -rf "$data"
    die "terraform init failed in $d: the provider plugins could not be installed (this machine has no access to registry.terraform.io or a plugin mirror; run make tf-check instead)"
  fi
  TF_DATA_DIR=$data "$TF" -chdir="$d" validate -no-color || failed+=("$d")
  if [ -d "$d/tests" ] && [ "$(printf '%s\n' "$version" 1.7.0 | sort -V | head -1)" = 1.7.0 ]; then
    say "test $d (plan-only, mocked providers)"
    TF_DATA_DIR=$data "$TF" -chdir="$d" test -no-color || failed+=("$d (test)")
  fi
  rm -rf "$data"
done
[ "${#failed[@]}" = 0 ] || die "validate/test failed in: ${failed[*]}"
say "validate passed in ${#DIRS[@]} directories"
