#!/usr/bin/env bash
# make bench-api: the rates API against its floor, the same query run alone in PostgreSQL.
# Starts the stack and the API (built from this tree, its pool as large as the floor's), then runs
# internal/loadharness/ratesbench: each phase warms up, then measures BENCH_DURATION at
# BENCH_CONCURRENCY requests in flight; prints req/s, p50, p99, errors and the ratios.
#
#   BENCH_DURATION=20s BENCH_CONCURRENCY=16 scripts/bench-api.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

DURATION=${BENCH_DURATION:-20s}
CONC=${BENCH_CONCURRENCY:-16}

"$ROOT/scripts/stack.sh" up
eval "$(stack_env)"

mkdir -p "$STATE_DIR/bin"
say "building the API and the benchmark"
go build -o "$STATE_DIR/bin/rates-api" ./service
go build -o "$STATE_DIR/bin/ratesbench" ./internal/loadharness/ratesbench

LOG=$STATE_DIR/bench-api.log
# The API's pool gets as many connections as the floor's (one per request in flight), so
# both sides have the same database resources; everything else is the API's default.
say "starting the API with DB_POOL_MAX_CONNS=$CONC, otherwise its defaults (log: $LOG)"
DB_SECRET_ID=rotaudit/local/app PORT=0 DB_POOL_MAX_CONNS="$CONC" "$STATE_DIR/bin/rates-api" >"$LOG" 2>&1 &
API_PID=$!
trap 'kill -TERM $API_PID 2>/dev/null; wait $API_PID 2>/dev/null || true' EXIT
PORT=
for _ in $(seq 1 100); do
  PORT=$(sed -n 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' "$LOG" | head -1)
  [ -n "$PORT" ] && curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null && break
  kill -0 $API_PID 2>/dev/null || { cat "$LOG" >&2; die "the API exited (log above)"; }
  sleep 0.1
done
[ -n "$PORT" ] || { cat "$LOG" >&2; die "the API did not become ready"; }
say "API ready on 127.0.0.1:$PORT; benchmarking: $DURATION per side plus warm-up"
"$STATE_DIR/bin/ratesbench" -url "http://127.0.0.1:$PORT" -api-pid "$API_PID" -c "$CONC" -d "$DURATION" -warmup 3s
