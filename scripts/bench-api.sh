#!/usr/bin/env bash
# make bench-api: the rates API against its floor, the same query run alone in PostgreSQL.
# Starts the stack and the API (built from this tree, its pool as large as the floor's), then runs
# internal/testkit/ratesbench twice in one go:
#
#   pinned (the main figure): PostgreSQL alone on the last core (its postmaster and every
#     backend, through taskset), the load generator and the API on the others, as on AWS where
#     the database has its own machine; then, under the same load, a rotation of the API's
#     secret (rotaudit rotate, alternating users then single user) and the p99 during it
#     against the steady p99;
#   shared: the same without pinning, everything on all cores, for comparison.
#
# Each run warms up, then measures BENCH_DURATION per side at BENCH_CONCURRENCY requests in
# flight, in alternating rounds; a closing table puts the two layouts side by side. Goals:
# API >= 0.95x of the floor's req/s pinned, p99 during a rotation <= 2x the steady p99.
# PostgreSQL's and the API's CPU affinity are restored on exit. BENCH_PIN=0 skips the pinned
# run (it also is skipped, with a note, on one core, without taskset, or on the Docker stack).
#
#   BENCH_DURATION=20s BENCH_CONCURRENCY=16 scripts/bench-api.sh
#
# FLASK_RATES_DIR=/path/to/operations-task/rates adds the original Flask service of the
# task (github.com/xeneta/operations-task, its rates/ folder; never copied into this
# repository) to the shared run: a copy of the folder in a scratch directory, with a
# config.py that takes the database from the PG* variables, served by Debian's gunicorn
# with two sync workers (apt-get install gunicorn python3-flask python3-psycopg2), on the
# same database and credentials, measured in alternating rounds with ours at the same
# concurrency; FLASK_WORKERS changes the worker count.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

DURATION=${BENCH_DURATION:-20s}
CONC=${BENCH_CONCURRENCY:-16}
PIN=${BENCH_PIN:-1}
SECRET_ID=rotaudit/local/app

"$ROOT/scripts/stack.sh" up
eval "$(stack_env)"

mkdir -p "$STATE_DIR/bin"
say "building the API, the operator CLI and the benchmark"
go build -o "$STATE_DIR/bin/rates-api" ./service
go build -o "$STATE_DIR/bin/rotaudit" ./cmd/rotaudit
go build -o "$STATE_DIR/bin/ratesbench" ./internal/testkit/ratesbench

# Can we pin? Two cores or more, taskset, and the native cluster's postmaster.
NCPU=$(nproc)
PM_PID=
if [ -f "$PG_DIR/data/postmaster.pid" ]; then PM_PID=$(head -1 "$PG_DIR/data/postmaster.pid"); fi
why_not=
if [ "$PIN" != 1 ]; then why_not="BENCH_PIN=$PIN"
elif [ "$NCPU" -lt 2 ]; then why_not="one CPU only"
elif ! command -v taskset >/dev/null; then why_not="taskset is not installed (util-linux)"
elif [ -z "$PM_PID" ] || ! kill -0 "$PM_PID" 2>/dev/null; then why_not="no native PostgreSQL postmaster (Docker stack?)"
fi
PG_CPU=$((NCPU - 1))
APP_CPUS=0-$((NCPU - 2))
PG_MASK=  # PostgreSQL's affinity before pinning, a hex mask; set while pinned
API_MASK=

# pg_pids: the postmaster and its children (backends, checkpointer, walwriter, ...).
pg_pids() { echo "$PM_PID"; pgrep -P "$PM_PID" || true; }
# set_pg_affinity TASKSET-ARGS: every PostgreSQL process now, and (through the postmaster)
# every backend forked later; "-c 1" pins to CPU 1, a hex mask restores. A process that
# exits meanwhile is not an error.
set_pg_affinity() {
  local pid
  for pid in $(pg_pids); do taskset -a -p "$@" "$pid" >/dev/null 2>&1 || true; done
}

LOG=$STATE_DIR/bench-api.log
API_PID=
cleanup() {
  if [ -n "$PG_MASK" ]; then set_pg_affinity "$PG_MASK"; fi
  if [ -n "$API_MASK" ]; then taskset -a -p "$API_MASK" "$API_PID" >/dev/null 2>&1 || true; fi
  if [ -n "$API_PID" ]; then kill -TERM "$API_PID" 2>/dev/null; wait "$API_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

# The API's pool gets as many connections as the floor's (one per request in flight), so
# both sides have the same database resources; everything else is the API's default.
say "starting the API with DB_POOL_MAX_CONNS=$CONC, otherwise its defaults (log: $LOG)"
DB_SECRET_ID=$SECRET_ID PORT=0 DB_POOL_MAX_CONNS="$CONC" "$STATE_DIR/bin/rates-api" >"$LOG" 2>&1 &
API_PID=$!
PORT=
for _ in $(seq 1 100); do
  PORT=$(sed -n 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' "$LOG" | head -1)
  [ -n "$PORT" ] && curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null && break
  kill -0 $API_PID 2>/dev/null || { cat "$LOG" >&2; die "the API exited (log above)"; }
  sleep 0.1
done
[ -n "$PORT" ] || { cat "$LOG" >&2; die "the API did not become ready"; }
URL=http://127.0.0.1:$PORT
OUT=$STATE_DIR/bench-api.out
: >"$OUT"

PREFIX=() # taskset -c CPUS for the pinned run
PEER=()
if [ -n "${FLASK_RATES_DIR:-}" ]; then
  [ -f "$FLASK_RATES_DIR/rates.py" ] && [ -f "$FLASK_RATES_DIR/wsgi.py" ] ||
    die "FLASK_RATES_DIR=$FLASK_RATES_DIR: want the rates/ folder of xeneta/operations-task (rates.py, wsgi.py)"
  command -v gunicorn >/dev/null || die "gunicorn is not installed (Debian: apt-get install gunicorn python3-flask python3-psycopg2)"
  /usr/bin/python3 -c 'import flask, psycopg2' 2>/dev/null ||
    die "python3 cannot import flask and psycopg2 (Debian: apt-get install python3-flask python3-psycopg2)"
  flask_dir=$(mktemp -d)
  trap 'cleanup; rm -rf "$flask_dir"' EXIT
  cp "$FLASK_RATES_DIR"/*.py "$flask_dir"/
  # Its config.py names a local superuser database; this one reads what ratesbench passes.
  cat >"$flask_dir/config.py" <<'PY'
import os
DB = {"name": os.environ["PGDATABASE"], "user": os.environ["PGUSER"], "host": os.environ["PGHOST"]}
PY
  flask_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  PEER=(-peer-name "flask" -peer-url "http://127.0.0.1:$flask_port"
    -peer-cmd "cd '$flask_dir' && exec gunicorn --workers ${FLASK_WORKERS:-2} --bind 127.0.0.1:$flask_port --log-level warning wsgi:application")
  say "the original Flask service from $FLASK_RATES_DIR: gunicorn, ${FLASK_WORKERS:-2} workers, on 127.0.0.1:$flask_port in the shared run"
fi

bench() { # bench LABEL [ratesbench flags...]
  local label=$1; shift
  "${PREFIX[@]}" "$STATE_DIR/bin/ratesbench" -url "$URL" -api-pid "$API_PID" -c "$CONC" -d "$DURATION" -warmup 3s \
    -label "$label" "$@" | tee -a "$OUT"
}

# The rotation stands for the rotation Lambda, which on AWS runs on neither the API's nor the
# database's machine: it may use every core.
rotate_cmd="taskset -c 0-$((NCPU - 1)) '$STATE_DIR/bin/rotaudit' rotate --secret-id $SECRET_ID --master-secret rotaudit/local/admin --allow-disabled --count 2 --strategy alternating-users,single-user"
if [ -z "$why_not" ]; then
  PG_MASK=$(taskset -p "$PM_PID" | sed 's/.*: //')
  say "pinned layout: PostgreSQL (postmaster $PM_PID and $(pgrep -c -P "$PM_PID" || echo 0) children) on CPU $PG_CPU; API and load generator on CPUs $APP_CPUS"
  set_pg_affinity -c "$PG_CPU"
  API_MASK=$(taskset -p "$API_PID" | sed 's/.*: //')
  taskset -a -p -c "$APP_CPUS" "$API_PID" >/dev/null
  # The load generator (and the rotation it runs) on the API's cores.
  PREFIX=(taskset -c "$APP_CPUS")
  bench pinned -rotate-cmd "$rotate_cmd"
  PREFIX=()
  # Back to how they were: every PostgreSQL process, new backends included, and the API.
  set_pg_affinity "$PG_MASK"
  PG_MASK=
  taskset -a -p "$API_MASK" "$API_PID" >/dev/null
  API_MASK=
  for pid in $(pg_pids); do
    [ "$(taskset -p "$pid" 2>/dev/null | sed 's/.*: //')" = "$(taskset -p "$PM_PID" | sed 's/.*: //')" ] ||
      warn "PostgreSQL process $pid kept another CPU affinity"
  done
else
  say "no pinned run: $why_not"
fi
say "shared layout: PostgreSQL, the API and the load generator on all $NCPU CPUs"
bench shared "${PEER[@]}"

printf '\n== bench-api: API against the query alone, two layouts of one run ==\n'
printf '%-8s %10s %10s %7s %11s %13s %9s\n' layout "API req/s" "floor r/s" ratio "steady p99" "rotation p99" "p99 x"
sed -n 's/^summary \([a-z]*\): api_rps=\([0-9]*\) floor_rps=\([0-9]*\) ratio=\([0-9.]*\) p50_ratio=[0-9.]* steady_p99=\([0-9.ms]*\) rotation_p99=\([0-9.ms]*\) rotation_p99_ratio=\([0-9.]*\).*/\1 \2 \3 \4 \5 \6 \7/p' "$OUT" |
  while read -r l a f r s rp rr; do
    [ "$rr" = 0.00 ] && { rp=-; rr=-; }
    printf '%-8s %10s %10s %6sx %11s %13s %8sx\n' "$l" "$a" "$f" "$r" "$s" "$rp" "$rr"
  done
printf 'goals (pinned): API >= 0.95x of the floor; p99 during a rotation <= 2x steady p99\n'
if [ -n "$why_not" ]; then printf 'the pinned layout was not measured: %s\n' "$why_not"; fi
if [ ${#PEER[@]} -gt 0 ]; then
  sed -n 's/^summary-peer \([a-z]*\): ours_rps=\([0-9]*\) peer_rps=\([0-9]*\) ratio=\([0-9.]*\) ours_p50=\([0-9.ms]*\) peer_p50=\([0-9.ms]*\) ours_p99=\([0-9.ms]*\) peer_p99=\([0-9.ms]*\).*/\1 \2 \3 \4 \5 \6 \7 \8/p' "$OUT" |
    while read -r n o p r op pp o9 p9; do
      printf 'original %s service (shared layout): %s req/s against ours %s (ours %sx); p50 %s against %s, p99 %s against %s\n' "$n" "$p" "$o" "$r" "$pp" "$op" "$p9" "$o9"
    done
else
  printf 'original Flask service: not measured (set FLASK_RATES_DIR to the rates/ folder of xeneta/operations-task)\n'
fi
