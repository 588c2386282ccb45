#!/usr/bin/env bash
# make localstack-test: the whole Go suite against the LocalStack stack (LocalStack 4.14.0 in
# host mode, or its container when a Docker engine has the image; moto for DynamoDB only; its
# own PostgreSQL cluster), with integration tests required, then the deployment test on it
# with AWS's services driving the functions (rotaudit-host Lambda executor). Stops at the end what it started;
# a stack that was already up is left running, and so is one started here when
# ROTAUDIT_KEEP_STACK=1.
set -euo pipefail
export ROTAUDIT_EMULATOR=localstack
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/tf-lib.sh"
cd "$ROOT"

stack() { "$ROOT/scripts/stack.sh" --emulator localstack "$@"; }

started=
if stack status >/dev/null 2>&1; then
  say "LocalStack stack already up: it stays up after the tests"
else
  started=1
  if [ "${ROTAUDIT_KEEP_STACK:-}" != 1 ]; then
    trap 'say "stopping the LocalStack stack this run started (ROTAUDIT_KEEP_STACK=1 keeps it)"; stack down || true' EXIT
  fi
fi
say "unit tests of the rotaudit-host Lambda executor (python3 -m unittest)"
python3 -m unittest discover -s "$ROOT/localstack/rotaudit_lambda_executor/tests"
t0=$SECONDS
stack up
[ -n "$started" ] && say "LocalStack stack up in $((SECONDS - t0)) s"
# The environment of this stack only: make test ran the moto stack's before.
eval "$(stack env)"
export ROTAUDIT_REQUIRE_STACK=1 # integration tests fail, not skip, when the stack is missing
"$ROOT/scripts/install-chromium.sh" >/dev/null # the fleet page's browser test (internal/fleet)

say "go test (unit and integration) against $ROTAUDIT_AWS_EMULATOR on $AWS_ENDPOINT_URL, DynamoDB on ${AWS_ENDPOINT_URL_DYNAMODB:-the same endpoint}, PostgreSQL 127.0.0.1:$PG_PORT"
t0=$SECONDS
# A failure here does not skip the deployment test: both run, and the script fails at the end.
failed=()
if go test -count=1 -timeout 40m ./...; then
  say "go test on $ROTAUDIT_AWS_EMULATOR passed in $((SECONDS - t0)) s"
else
  warn "go test on $ROTAUDIT_AWS_EMULATOR failed after $((SECONDS - t0)) s (above); the deployment test runs anyway"
  failed+=("go test ./...")
fi

# The deployment test on LocalStack: envs/local applied to this LocalStack, and then the
# services drive: Secrets Manager invokes the rotator, EventBridge the auditor (the
# rotaudit-host executor runs the bootstraps as processes on this machine, so the zips are
# built for its CPU into dist/host). DynamoDB and RDS come from the moto beside it.
say "deployment test on LocalStack: building the zips for this machine ($(go env GOARCH)) into dist/host"
tf_setup
PACKAGE_GOARCH=$(go env GOARCH) PACKAGE_DIR="$ROOT/dist/host" "$ROOT/scripts/package.sh" >/dev/null
"$ROOT/scripts/install-rie.sh" >/dev/null
t0=$SECONDS
if ROTAUDIT_E2E=1 ROTAUDIT_E2E_ENDPOINT=$AWS_ENDPOINT_URL ROTAUDIT_E2E_DYNAMODB_ENDPOINT=${AWS_ENDPOINT_URL_DYNAMODB:-} \
  ROTAUDIT_E2E_DIST_DIR=../../dist/host \
  go test -count=1 -timeout 30m -v -run '^TestDeployment$' ./internal/e2e |
  grep -v -e '^=== RUN' -e 'WARN failed to discard'; then
  say "deployment test on LocalStack passed in $((SECONDS - t0)) s"
else
  failed+=("the deployment test (TestDeployment)")
fi
[ ${#failed[@]} -eq 0 ] || die "on LocalStack, failed: $(IFS=,; echo "${failed[*]}")"
