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

# The deployment test (make e2e) does not run here: offline, LocalStack 4.14.0 cannot create a
# Lambda function (it downloads its runtime init from GitHub at CreateFunction and then
# needs Docker; the function ends in state Failed, so terraform apply fails), and the
# Terraform provider rejects the queue URLs of SQS_ENDPOINT_STRATEGY=path. See the README.
