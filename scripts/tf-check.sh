#!/usr/bin/env bash
# make tf-check: the Terraform checks, in order:
#   1. terraform fmt -check on modules/ and envs/
#   2. tflint (bundled terraform ruleset, preset "all") on every module, example and root
#   3. checkov (pinned, from PyPI) over modules/, envs/ and service/Dockerfile with .checkov.yaml
#   4. the HCL tests: go test ./internal/tfcheck
#   5. validate + terraform test: scripts/tf-validate.sh (every root, example and module;
#      the modules' tests/*.tftest.hcl and the plans of dev, stage and prod from an empty
#      state), with the hashicorp/aws provider from the mirror scripts/tf-lib.sh finds
#   6. no password in plan or state: scripts/tf-nopassword.sh against the local emulator
#      (skipped with a message when the stack is not up)
#   7. the reproducible-package test: scripts/package.sh --verify
#   8. optional, with TF_CHECK_TFSEC=1: tfsec (pinned) with .tfsec/config.yml
# Missing tools are installed into ${ROTAUDIT_TOOLS:-$HOME/.cache/rotaudit/tools}, outside the
# clone, so CI reruns are fast. TF_CHECK_SKIP="package checkov" skips steps by name.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/tf-lib.sh"
cd "$ROOT"

TOOLS=${ROTAUDIT_TOOLS:-$HOME/.cache/rotaudit/tools}
TERRAFORM_VERSION=1.5.7 # fallback only: a terraform or tofu on PATH is used first
TFLINT_VERSION=0.64.0
CHECKOV_VERSION=3.3.30
TFSEC_VERSION=1.26.0
SKIP=" ${TF_CHECK_SKIP:-} "
mkdir -p "$TOOLS/bin"
export PATH="$TOOLS/bin:$PATH"
# The CLI configuration for the provider mirror (a TF_CLI_CONFIG_FILE naming a missing file
# only produces warnings on every call).
if command -v terraform >/dev/null 2>&1 || command -v tofu >/dev/null 2>&1; then
  tf_setup
elif [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then
  unset TF_CLI_CONFIG_FILE
fi

need_go() { command -v go >/dev/null 2>&1 || die "$1 is missing and installing it needs Go on PATH"; }

# terraform_bin prints the terraform (or tofu) to use, installing terraform if neither exists.
terraform_bin() {
  local t
  for t in terraform tofu; do
    if command -v "$t" >/dev/null 2>&1; then command -v "$t"; return; fi
  done
  need_go terraform
  say "installing terraform v$TERRAFORM_VERSION into $TOOLS/bin (go install; a few minutes the first time)"
  GOBIN="$TOOLS/bin" GOFLAGS= go install "github.com/hashicorp/terraform@v$TERRAFORM_VERSION" >&2 ||
    die "go install github.com/hashicorp/terraform@v$TERRAFORM_VERSION failed: install terraform >= 1.5 or tofu and put it on PATH"
  echo "$TOOLS/bin/terraform"
}

tflint_bin() {
  local t=$TOOLS/bin/tflint
  # (no `| grep -q`: with pipefail, grep closing the pipe early fails the check)
  if [ -x "$t" ] && [[ $("$t" --version 2>/dev/null) == *"version $TFLINT_VERSION"* ]]; then echo "$t"; return; fi
  need_go tflint
  say "installing tflint v$TFLINT_VERSION into $TOOLS/bin (go install; bundled terraform ruleset, no plugin download)"
  GOBIN="$TOOLS/bin" GOFLAGS= go install "github.com/terraform-linters/tflint@v$TFLINT_VERSION" >&2 ||
    die "go install github.com/terraform-linters/tflint@v$TFLINT_VERSION failed (needs the Go module proxy)"
  echo "$t"
}

checkov_bin() {
  local venv=$TOOLS/venv/checkov-$CHECKOV_VERSION py
  if [ -x "$venv/bin/checkov" ]; then echo "$venv/bin/checkov"; return; fi
  for py in python3.11 python3.12 python3.10 python3; do
    command -v "$py" >/dev/null 2>&1 && break
  done
  command -v "$py" >/dev/null 2>&1 || die "checkov needs Python 3.9+ (none found on PATH)"
  say "installing checkov==$CHECKOV_VERSION from PyPI into $venv ($($py --version 2>&1); about a minute the first time)"
  rm -rf "$venv"
  "$py" -m venv "$venv" || die "$py -m venv failed: install the python3 venv module"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION" >&2 || {
    rm -rf "$venv"
    die "pip install checkov==$CHECKOV_VERSION failed (needs PyPI)"
  }
  echo "$venv/bin/checkov"
}

tfsec_bin() {
  local t=$TOOLS/bin/tfsec
  if [ -x "$t" ]; then echo "$t"; return; fi
  need_go tfsec
  say "installing tfsec v$TFSEC_VERSION into $TOOLS/bin (go install; several minutes the first time)"
  GOBIN="$TOOLS/bin" GOFLAGS= go install "github.com/aquasecurity/tfsec/cmd/tfsec@v$TFSEC_VERSION" >&2 ||
    die "go install github.com/aquasecurity/tfsec/cmd/tfsec@v$TFSEC_VERSION failed (needs the Go module proxy)"
  echo "$t"
}

skipped() { [[ $SKIP == *" $1 "* ]] && { warn "skipping $1 (TF_CHECK_SKIP)"; }; }

# Every directory with .tf files under modules/ and envs/ (modules, examples, roots).
mapfile -t DIRS < <(find modules envs -name '*.tf' -not -path '*/.terraform/*' -not -path '*/tests/*' -printf '%h\n' | sort -u)
[ "${#DIRS[@]}" -gt 0 ] || die "no Terraform files under modules/ or envs/"
start=$SECONDS

if ! skipped fmt; then
  TF=$(terraform_bin)
  say "fmt: $("$TF" version | head -1) fmt -check -recursive modules envs"
  "$TF" fmt -check -recursive -diff modules envs || die "terraform fmt found unformatted files: run terraform fmt -recursive modules envs"
fi

if ! skipped tflint; then
  TFLINT=$(tflint_bin)
  say "tflint: $("$TFLINT" --version | head -1) on ${#DIRS[@]} directories"
  failed=0
  for d in "${DIRS[@]}"; do
    "$TFLINT" --chdir="$d" --config="$ROOT/.tflint.hcl" --format=compact || { failed=1; warn "tflint: problems in $d"; }
  done
  [ "$failed" = 0 ] || die "tflint found problems"
fi

if ! skipped checkov; then
  CHECKOV=$(checkov_bin)
  say "checkov $("$CHECKOV" --version) over modules/, envs/ and service/Dockerfile (each skip inline at its resource: # checkov:skip=ID:reason)"
  # The vendor's guideline API is unreachable offline; the scan does not need it.
  BC_SKIP_MAPPING=TRUE "$CHECKOV" --config-file "$ROOT/.checkov.yaml" -d modules -d envs -d service 2> >(grep -v -e 'prismacloud' -e 'Traceback' -e '^  ' -e 'urllib3' >&2) ||
    die "checkov reported failed checks: fix them or skip them inline at the resource (# checkov:skip=ID:reason)"
fi

if ! skipped hcl; then
  say "HCL tests: go test ./internal/tfcheck (module calls, variables, IAM wildcards, Lambda env, env parity, READMEs)"
  go test -count=1 ./internal/tfcheck
fi

if ! skipped validate; then
  say "validate and terraform test: scripts/tf-validate.sh"
  "$ROOT/scripts/tf-validate.sh"
fi

if ! skipped nopassword; then
  "$ROOT/scripts/tf-nopassword.sh"
fi

if ! skipped package; then
  say "reproducible packages: scripts/package.sh --verify"
  "$ROOT/scripts/package.sh" --verify
fi

if [ "${TF_CHECK_TFSEC:-0}" = 1 ]; then
  TFSEC=$(tfsec_bin)
  say "tfsec v$TFSEC_VERSION over modules/ and envs/ (exclusions and reasons: .tfsec/config.yml)"
  for d in modules envs; do
    "$TFSEC" "$d" --no-color --concise-output --config-file "$ROOT/.tfsec/config.yml" || die "tfsec found problems in $d/"
  done
fi

say "terraform checks passed in $((SECONDS - start))s"
