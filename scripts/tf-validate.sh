#!/usr/bin/env bash
# make tf-validate: `terraform init` + `terraform validate` on every root (envs/*,
# modules/*/examples/*) and every module, then `terraform test` (plan-only, mocked
# providers) wherever there is a tests/ folder: the modules, and envs/dev, envs/stage and
# envs/prod, whose tests plan the whole environment from an empty state.
#
# The hashicorp/aws provider comes from a filesystem mirror found on the machine
# (scripts/tf-lib.sh writes the CLI configuration), else from the registry. The roots in
# envs/ install exactly what their committed .terraform.lock.hcl names (-lockfile=readonly).
#
#   scripts/tf-validate.sh              everything
#   scripts/tf-validate.sh DIR...       only these directories
#   TF_VALIDATE_SKIP_TEST=1             validate only, no terraform test
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/tf-lib.sh"
cd "$ROOT"

tf_setup
tf_ensure_zips rotator auditor
say "using $("$TF" version | head -1); CLI config $TF_CLI_CONFIG_FILE (mirror: ${TF_MIRROR:-none, registry})"

if [ "$#" -gt 0 ]; then
  DIRS=("$@")
else
  mapfile -t DIRS < <(find modules envs -name '*.tf' -not -path '*/.terraform/*' -not -path '*/tests/*' -printf '%h\n' | sort -u)
fi
failed=()
start=$SECONDS
for d in "${DIRS[@]}"; do
  t0=$SECONDS
  # A module that declares configuration_aliases cannot be validated on its own (the
  # aliased providers only exist in a caller): its examples/ validate it.
  if grep -qs configuration_aliases "$d"/*.tf; then
    compgen -G "$d/examples/*/main.tf" >/dev/null || die "$d declares configuration_aliases and has no example to validate it through"
    validate=0
  else
    validate=1
  fi
  lockflag=()
  [[ $d == envs/* && $d != envs/common ]] && lockflag=(-lockfile=readonly)
  data=$(mktemp -d)
  if ! TF_DATA_DIR=$data "$TF" -chdir="$d" init -backend=false -input=false -no-color "${lockflag[@]}" >"$data/init.log" 2>&1; then
    cat "$data/init.log" >&2
    rm -rf "$data"
    failed+=("$d (init)")
    continue
  fi
  if [ "$validate" = 1 ]; then
    TF_DATA_DIR=$data "$TF" -chdir="$d" validate -no-color >"$data/validate.log" 2>&1 || { cat "$data/validate.log" >&2; failed+=("$d"); }
  fi
  tested=
  # envs/common's tests run in envs/dev, stage and prod (linked), with their tfvars.
  if [ -d "$d/tests" ] && [ "$d" != envs/common ] && [ "${TF_VALIDATE_SKIP_TEST:-0}" != 1 ]; then
    if TF_DATA_DIR=$data "$TF" -chdir="$d" test -no-color >"$data/test.log" 2>&1; then
      tested=", $(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$data/test.log" | tail -1)"
    else
      cat "$data/test.log" >&2
      failed+=("$d (test)")
    fi
  fi
  what=validate
  [ "$validate" = 1 ] || what="init only (validated through its examples)"
  say "$d: $what$tested ($((SECONDS - t0))s)"
  rm -rf "$data"
done
# Modules and examples get a lock file from init; only the roots' are kept (and committed).
find modules -name .terraform.lock.hcl -delete
[ "${#failed[@]}" = 0 ] || die "validate/test failed in: ${failed[*]}"
say "validate passed in ${#DIRS[@]} directories in $((SECONDS - start))s"
