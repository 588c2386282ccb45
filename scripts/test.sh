#!/usr/bin/env bash
# make test: starts the local stack and runs the Go tests (unit and integration) against it;
# the deployment test (scripts/e2e.sh, on a fresh moto); the suite again on LocalStack (scripts/localstack-test.sh: LocalStack 4.14.0 with moto for DynamoDB,
# its own PostgreSQL); the rotation suites on PostgreSQL 13-18; then the Terraform checks.
# `scripts/test.sh go` runs only the Go tests on the default stack. ROTAUDIT_E2E=0 skips the
# deployment tests.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/stack.sh" up
eval "$(stack_env)"
export ROTAUDIT_REQUIRE_STACK=1 # integration tests fail, not skip, when the stack is missing

say "go vet"
go vet ./...
say "go test (unit and integration, against the local stack)"
t0=$SECONDS
go test -count=1 -timeout 40m ./...
say "go test on $ROTAUDIT_AWS_EMULATOR passed in $((SECONDS - t0)) s"

if [ "${1:-all}" = all ] && [ "${ROTAUDIT_E2E:-1}" != 0 ]; then
  say "the deployment end to end on a fresh moto (make e2e)"
  "$ROOT/scripts/e2e.sh"
fi

if [ "${1:-all}" = all ]; then
  if [ "$ROTAUDIT_AWS_EMULATOR" = localstack ]; then
    # The Docker stack already runs LocalStack 4.14.0: the suite just ran on it.
    say "the default stack runs LocalStack already (Docker): no second LocalStack run"
  else
    say "the same suite on LocalStack (make localstack-test)"
    "$ROOT/scripts/localstack-test.sh"
  fi
fi

# --- PostgreSQL majors (issue 9): the rotation and pgrole suites on 13-18, one private
# cluster per major beside the stack (scripts/pg-majors.sh); ROTAUDIT_PG_MAJORS=0 skips it.
if [ "${ROTAUDIT_PG_MAJORS:-1}" != 0 ]; then
  say "rotation suites on the other PostgreSQL majors"
  "$ROOT/scripts/pg-majors.sh" test --except-stack
fi
# --- end PostgreSQL majors

# --- aws-check (issue 17): permissions, resource and key policies, network paths, the access
# matrix, evaluated offline on every environment applied to a fresh moto (make aws-check).
if [ "${1:-all}" = all ]; then
  say "what AWS enforces and the emulators skip (make aws-check)"
  "$ROOT/scripts/aws-check.sh"
fi
# --- end aws-check

if [ "${1:-all}" = all ] && [ -x "$ROOT/scripts/tf-check.sh" ]; then
  say "terraform checks"
  "$ROOT/scripts/tf-check.sh"
fi
