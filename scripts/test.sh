#!/usr/bin/env bash
# make test: starts the local stack, runs the Go tests (unit and integration) against it,
# then the Terraform checks. `scripts/test.sh go` runs only the Go part.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/stack.sh" up
eval "$(stack_env)"
export ROTAUDIT_REQUIRE_STACK=1 # integration tests fail, not skip, when the stack is missing

say "go vet"
go vet ./...
say "go test (unit and integration, against the local stack)"
go test -count=1 -timeout 40m ./...

# --- PostgreSQL majors (issue 9): the rotation and pgrole suites on 13-18, one private
# cluster per major beside the stack (scripts/pg-majors.sh); ROTAUDIT_PG_MAJORS=0 skips it.
if [ "${ROTAUDIT_PG_MAJORS:-1}" != 0 ]; then
  say "rotation suites on the other PostgreSQL majors"
  "$ROOT/scripts/pg-majors.sh" test --except-stack
fi
# --- end PostgreSQL majors

if [ "${1:-all}" = all ] && [ -x "$ROOT/scripts/tf-check.sh" ]; then
  say "terraform checks"
  "$ROOT/scripts/tf-check.sh"
fi
