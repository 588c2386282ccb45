#!/usr/bin/env bash
# make test: every suite, each a step that runs whatever happened in the ones before, so one
# failure never hides the others:
#   the local stack (started when it is not running), go vet, Chromium (installed on first use,
#   for the fleet page's browser test), go test ./... on it (moto),
#   the deployment end to end on a fresh moto (scripts/e2e.sh), the suite again on LocalStack
#   (scripts/localstack-test.sh), the rotation suites on the other PostgreSQL majors
#   (scripts/pg-majors.sh), then the Terraform checks (scripts/tf-check.sh).
# At the end it stops what it started, prints a table of the steps (passed/failed, seconds)
# and, as its last line, "N passed, N failed"; it exits 1 when a step failed.
#
#   scripts/test.sh       every step
#   scripts/test.sh go    the stack, go vet, go test and the PostgreSQL majors
#
# Environment:
#   KEEP_STACK=1 (or ROTAUDIT_KEEP_STACK=1)  leave running what this run started (the stack's
#       PostgreSQL and moto, the majors' clusters, LocalStack); a stack that was running before
#       is always left running
#   ROTAUDIT_E2E=0, ROTAUDIT_LOCALSTACK=0, ROTAUDIT_PG_MAJORS=0, ROTAUDIT_TF_CHECK=0
#       skip that step (the summary says so; a skipped step is neither passed nor failed)
#   ROTAUDIT_TEST_PKGS  the packages of the go test step (default ./...)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

mode=${1:-all}
case $mode in all | go) ;; *) die "usage: scripts/test.sh [go]" ;; esac
keep=${KEEP_STACK:-${ROTAUDIT_KEEP_STACK:-}}
[ "$keep" = 1 ] || keep=
export ROTAUDIT_KEEP_STACK=${keep:-0} # scripts/localstack-test.sh reads it

step_names=() step_results=() step_secs=() step_notes=()
stopped=() kept=()

# record NAME RESULT SECONDS [NOTE]
record() { step_names+=("$1"); step_results+=("$2"); step_secs+=("$3"); step_notes+=("${4:-}"); }

# step NAME COMMAND...: runs COMMAND and records whether it passed and how long it took. A
# failure is recorded, never fatal: the next step runs.
step() {
  local name=$1 t0=$SECONDS rc=0
  shift
  say "[$name] starting"
  "$@" || rc=$?
  if [ "$rc" = 0 ]; then
    record "$name" passed $((SECONDS - t0))
    say "[$name] passed in $((SECONDS - t0)) s"
  else
    record "$name" FAILED $((SECONDS - t0))
    say "[$name] FAILED (exit $rc) after $((SECONDS - t0)) s; going on with the other steps"
  fi
}

# skip NAME WHY: records a step that did not run.
skip() {
  record "$1" skipped - "$2"
  say "[$1] skipped: $2"
}

# on VARIABLE: true unless the variable is set to 0.
on() { [ "${!1:-1}" != 0 ]; }

# What runs already is the user's and stays running.
stack_was_up=
"$ROOT/scripts/stack.sh" status >/dev/null 2>&1 && stack_was_up=1
localstack_was_up=
"$ROOT/scripts/stack.sh" --emulator localstack status >/dev/null 2>&1 && localstack_was_up=1
majors_were_up=$("$ROOT/scripts/pg-majors.sh" status 2>/dev/null | awk '$3 == "up" { sub(":", "", $2); print $2 }' || true)
majors_ran=

cleanup() {
  trap - EXIT INT TERM
  local m up=()
  if [ -n "$majors_ran" ]; then
    for m in ${PG_MAJORS:-13 14 15 16 17 18}; do
      grep -qx "$m" <<<"$majors_were_up" && continue
      "$ROOT/scripts/pg-majors.sh" status "$m" >/dev/null 2>&1 && up+=("$m")
    done
    if [ ${#up[@]} -gt 0 ]; then
      if [ -n "$keep" ]; then
        kept+=("the PostgreSQL ${up[*]} clusters (scripts/pg-majors.sh down)")
      else
        "$ROOT/scripts/pg-majors.sh" down "${up[@]}" || true
        stopped+=("the PostgreSQL ${up[*]} clusters")
      fi
    fi
  fi
  # scripts/localstack-test.sh stops the LocalStack stack it started; this catches what an
  # interrupted or failed stop left behind.
  if [ -z "$localstack_was_up" ] && "$ROOT/scripts/stack.sh" --emulator localstack status >/dev/null 2>&1; then
    if [ -n "$keep" ]; then
      kept+=("the LocalStack stack (scripts/stack.sh --emulator localstack down)")
    else
      "$ROOT/scripts/stack.sh" --emulator localstack down || true
      stopped+=("the LocalStack stack")
    fi
  fi
  if [ -z "$stack_was_up" ]; then
    if [ -n "$keep" ]; then
      kept+=("the local stack (make down)")
    else
      "$ROOT/scripts/stack.sh" down || true
      stopped+=("the local stack (PostgreSQL and the AWS emulator)")
    fi
  fi
  summary
}

summary() {
  local i passed=0 failed=0 s
  printf '\n==> make test: summary\n'
  printf '  %-40s %-8s %7s\n' step result seconds
  for i in "${!step_names[@]}"; do
    printf '  %-40s %-8s %7s  %s\n' "${step_names[$i]}" "${step_results[$i]}" "${step_secs[$i]}" "${step_notes[$i]}"
    case ${step_results[$i]} in passed) passed=$((passed + 1)) ;; FAILED) failed=$((failed + 1)) ;; esac
  done
  [ -n "$stack_was_up" ] && printf '  left running as found: the local stack (it was up before make test)\n'
  for s in "${stopped[@]}"; do printf '  stopped: %s\n' "$s"; done
  for s in "${kept[@]}"; do printf '  left running (KEEP_STACK=1): %s\n' "$s"; done
  [ -n "$keep" ] || [ ${#stopped[@]} = 0 ] || printf '  (KEEP_STACK=1 make test leaves what it starts running)\n'
  printf '%d passed, %d failed\n' "$passed" "$failed"
  [ "$failed" = 0 ]
}

# An interrupted run, or one that ends early, still stops what it started and says what ran.
trap 'cleanup; exit 130' INT TERM
trap 'cleanup || true; exit 1' EXIT

stack_up() {
  "$ROOT/scripts/stack.sh" up || return
  eval "$(stack_env)"
}
step "local stack up" stack_up
stack_ok=
[ "${step_results[0]}" = passed ] && stack_ok=1
export ROTAUDIT_REQUIRE_STACK=1 # integration tests fail, not skip, when the stack is missing

step "go vet" go vet ./...

# needs_stack NAME COMMAND...: step, or a failure without running when the stack is down.
needs_stack() {
  if [ -n "$stack_ok" ]; then
    step "$@"
  else
    record "$1" FAILED 0 "not run: the local stack did not start"
    say "[$1] not run: the local stack did not start"
  fi
}

# The fleet page's test loads it in headless Chromium (internal/fleet); with
# ROTAUDIT_REQUIRE_STACK set it fails rather than skips when the browser is missing.
install_chromium() { "$ROOT/scripts/install-chromium.sh" >/dev/null; }
step "chromium for the fleet page's test" install_chromium

# shellcheck disable=SC2086 # a list of packages
needs_stack "go test on moto" go test -count=1 -timeout 40m ${ROTAUDIT_TEST_PKGS:-./...}

if [ "$mode" = all ]; then
  if ! on ROTAUDIT_E2E; then
    skip "e2e deployment on a fresh moto" "ROTAUDIT_E2E=0"
  else
    needs_stack "e2e deployment on a fresh moto" "$ROOT/scripts/e2e.sh"
  fi

  if ! on ROTAUDIT_LOCALSTACK; then
    skip "go test on LocalStack" "ROTAUDIT_LOCALSTACK=0"
  elif [ "${ROTAUDIT_AWS_EMULATOR:-}" = localstack ]; then
    # The Docker stack runs LocalStack 4.14.0 already: the suite just ran on it.
    skip "go test on LocalStack" "the default stack is LocalStack (Docker)"
  else
    step "go test on LocalStack" "$ROOT/scripts/localstack-test.sh"
  fi
fi

# The rotation and pgrole suites on 13-18, one private cluster per major beside the stack.
if ! on ROTAUDIT_PG_MAJORS; then
  skip "rotation suites on PostgreSQL majors" "ROTAUDIT_PG_MAJORS=0"
else
  majors_ran=1
  needs_stack "rotation suites on PostgreSQL majors" "$ROOT/scripts/pg-majors.sh" test --except-stack
fi

if [ "$mode" = all ]; then
  # What AWS enforces and the emulators skip (issue 17): permissions, resource and key
  # policies, network paths and the access matrix, on every environment applied to a fresh moto.
  if ! on ROTAUDIT_AWS_CHECK; then
    skip "aws-check" "ROTAUDIT_AWS_CHECK=0"
  else
    step "aws-check" "$ROOT/scripts/aws-check.sh"
  fi
  if ! on ROTAUDIT_TF_CHECK; then
    skip "terraform checks" "ROTAUDIT_TF_CHECK=0"
  else
    step "terraform checks" "$ROOT/scripts/tf-check.sh"
  fi
fi

# Stop what this run started, print the summary; exit 1 when a step failed.
status=0
cleanup || status=$?
exit "$status"
