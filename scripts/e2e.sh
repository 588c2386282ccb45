#!/usr/bin/env bash
# make e2e: the deployment, end to end, on an AWS emulator (internal/e2e/deploy_test.go).
# Applies envs/local with Terraform to a fresh emulator of its own (moto server on a free
# port, stopped at the end; or the one at ROTAUDIT_E2E_ENDPOINT, e.g. LocalStack), with the
# stack's PostgreSQL as the database server, and then bootstraps, serves, rotates, audits and
# destroys it. Prints the time of each phase and the emulator gaps met.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/tf-lib.sh"
cd "$ROOT"

"$ROOT/scripts/stack.sh" up
eval "$(stack_env)"
tf_setup
say "building the Lambda zips Terraform deploys (scripts/package.sh)"
"$ROOT/scripts/package.sh" >/dev/null
"$ROOT/scripts/install-rie.sh" >/dev/null

# e2e_moto_up PORT: starts moto on PORT and waits until it answers; fails at once when the
# server exits (the port, found free a moment ago, was taken meanwhile by another program).
e2e_moto_up() {
  local port=$1 deadline=$((SECONDS + 60))
  say "starting a fresh moto server for the deployment on 127.0.0.1:$port (log: $log)"
  "$cmd" -H 127.0.0.1 -p "$port" >"$log" 2>&1 </dev/null &
  moto_pid=$!
  while :; do
    kill -0 "$moto_pid" 2>/dev/null || { warn "the e2e moto server exited before answering on $port"; return 1; }
    curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$port/moto-api/" 2>/dev/null && kill -0 "$moto_pid" 2>/dev/null && return 0
    ((SECONDS < deadline)) || { warn "the e2e moto server did not answer on $port within 60 s"; return 1; }
    sleep 0.2
  done
}

if [ -z "${ROTAUDIT_E2E_ENDPOINT:-}" ]; then
  log=$STATE_DIR/e2e-moto.log
  cmd=$(moto_cmd)
  mkdir -p "$STATE_DIR"
  moto_pid=
  trap '[ -z "$moto_pid" ] || stop_pid "the e2e moto server" "$moto_pid" || true' EXIT
  for attempt in 1 2 3; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    e2e_moto_up "$port" && break
    tail -20 "$log" >&2
    stop_pid "the e2e moto server" "$moto_pid" || true
    [ "$attempt" = 3 ] && die "the e2e moto server did not start (three ports tried)"
  done
  export ROTAUDIT_E2E_ENDPOINT=http://127.0.0.1:$port
fi

say "deployment test against $ROTAUDIT_E2E_ENDPOINT (PostgreSQL 127.0.0.1:$PG_PORT)"
ROTAUDIT_E2E=1 ROTAUDIT_REQUIRE_STACK=1 go test -count=1 -timeout 30m -v -run '^TestDeployment$' ./internal/e2e |
  grep -v -e '^=== RUN' -e 'WARN failed to discard'
