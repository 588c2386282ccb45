#!/usr/bin/env bash
# make localstack-test: the whole Go suite against the LocalStack stack (LocalStack 4.14.0 in
# host mode, or its container when a Docker engine has the image; moto for DynamoDB only; its
# own PostgreSQL cluster), with integration tests required. Stops at the end what it started;
# a stack that was already up is left running, and so is one started here when
# ROTAUDIT_KEEP_STACK=1.
set -euo pipefail
export ROTAUDIT_EMULATOR=localstack
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
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
t0=$SECONDS
stack up
[ -n "$started" ] && say "LocalStack stack up in $((SECONDS - t0)) s"
# The environment of this stack only: make test ran the moto stack's before.
eval "$(stack env)"
export ROTAUDIT_REQUIRE_STACK=1 # integration tests fail, not skip, when the stack is missing

say "go test (unit and integration) against $ROTAUDIT_AWS_EMULATOR on $AWS_ENDPOINT_URL, DynamoDB on ${AWS_ENDPOINT_URL_DYNAMODB:-the same endpoint}, PostgreSQL 127.0.0.1:$PG_PORT"
t0=$SECONDS
go test -count=1 -timeout 40m ./...
say "go test on $ROTAUDIT_AWS_EMULATOR passed in $((SECONDS - t0)) s"

# The deployment test on LocalStack too, on a fresh emulator: the suite's own leftovers
# would otherwise count as what terraform destroy left behind.
if [ "${ROTAUDIT_E2E:-1}" != 0 ]; then
  say "restarting the LocalStack stack for the deployment test (a fresh emulator)"
  stack down
  stack up
  eval "$(stack env)"
  ROTAUDIT_E2E_ENDPOINT=$AWS_ENDPOINT_URL ROTAUDIT_E2E_DYNAMODB_ENDPOINT=${AWS_ENDPOINT_URL_DYNAMODB:-} \
    "$ROOT/scripts/e2e.sh"
fi
