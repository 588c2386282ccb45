#!/usr/bin/env bash
# The local stack: PostgreSQL on 127.0.0.1:$PG_PORT and an AWS emulator on 127.0.0.1:$AWS_PORT.
#
#   scripts/stack.sh [--emulator moto|localstack] up      start (idempotent), then prepare the database and secrets
#   scripts/stack.sh [--emulator moto|localstack] down    stop (idempotent); data stays in the state folder
#   scripts/stack.sh [--emulator moto|localstack] status  say what runs; exit 1 when something is down
#   scripts/stack.sh [--emulator moto|localstack] env     print the environment that points clients at the stack
#   scripts/stack.sh [--emulator moto|localstack] reset   stop and delete all local state
#
# Without a Docker engine (these machines) PostgreSQL is a private cluster made with the
# installed server's initdb, and the emulator is moto server. A second cluster on PG2_PORT
# (default PG_PORT+10) holds envs/local's third database; the Docker stack has none. With a Docker engine,
# localstack/docker-compose.yml runs LocalStack 4.14.0 and a PostgreSQL image instead.
#
# --emulator localstack (or ROTAUDIT_EMULATOR=localstack) is a second, separate stack: its own
# state in .stack-localstack/, its own PostgreSQL cluster on LOCALSTACK_PG_PORT (15433),
# LocalStack 4.14.0 in host mode on LOCALSTACK_PORT (4567), installed into the user's cache on
# first use (scripts/localstack.sh), and moto for DynamoDB only on LOCALSTACK_DYNAMODB_PORT
# (4568). With a Docker engine and the localstack/localstack:4.14.0 image present, it runs the
# compose file instead, as its own compose project.
set -euo pipefail
if [ "${1:-}" = --emulator ]; then
  [ -n "${2:-}" ] || { echo "error: --emulator needs moto or localstack" >&2; exit 2; }
  export ROTAUDIT_EMULATOR=$2
  shift 2
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/scripts/localstack.sh"

PG_DATA=$PG_DIR/data
PG_LOG=$PG_DIR/postgres.log
MOTO_LOG=$STATE_DIR/moto.log
MOTO_PID=$STATE_DIR/moto.pid
MODE_FILE=$STATE_DIR/mode

pg_bindir() {
  local dir
  if [ -n "${PG_BINDIR:-}" ]; then echo "$PG_BINDIR"; return; fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return; }
  return 1
}

pg_super_ready() {
  "$BIN/pg_isready" -q -h "$PG_SOCKET_DIR" -p "$PG_PORT"
}

pg_up_native() {
  BIN=$(pg_bindir) || die "no PostgreSQL server found: install it (apt-get install postgresql) or set PG_BINDIR"
  pg_cluster_init "$BIN" "$PG_DIR" "$PG_PORT" 200 "the local stack's PostgreSQL"
  if pg_super_ready; then
    say "PostgreSQL already running on 127.0.0.1:$PG_PORT"
    return
  fi
  if port_in_use "$PG_PORT"; then
    die "port $PG_PORT is taken by another program; choose another with PG_PORT=NNNN"
  fi
  say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  as_pg touch "$PG_LOG" 2>/dev/null || true
  if ! as_pg "$BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -o "-p $PG_PORT" -w -t 30 start >/dev/null; then
    tail -20 "$PG_LOG" >&2 || true
    die "PostgreSQL did not start (server log above: $PG_LOG)"
  fi
}

# The second cluster: the same server on PG2_PORT, in PG2_DIR (native stacks only).
pg2_up_native() {
  BIN=$(pg_bindir) || die "no PostgreSQL server found: install it (apt-get install postgresql) or set PG_BINDIR"
  pg_cluster_init "$BIN" "$PG2_DIR" "$PG2_PORT" 100 "the local stack's second PostgreSQL"
  if "$BIN/pg_isready" -q -h "$PG2_SOCKET_DIR" -p "$PG2_PORT"; then
    say "second PostgreSQL already running on 127.0.0.1:$PG2_PORT"
    return
  fi
  if port_in_use "$PG2_PORT"; then
    die "port $PG2_PORT (the second PostgreSQL) is taken by another program; choose another with PG2_PORT=NNNN"
  fi
  say "starting the second PostgreSQL on 127.0.0.1:$PG2_PORT"
  as_pg touch "$PG2_DIR/postgres.log" 2>/dev/null || true
  if ! as_pg "$BIN/pg_ctl" -D "$PG2_DIR/data" -l "$PG2_DIR/postgres.log" -o "-p $PG2_PORT" -w -t 30 start >/dev/null; then
    tail -20 "$PG2_DIR/postgres.log" >&2 || true
    die "the second PostgreSQL did not start (server log above: $PG2_DIR/postgres.log)"
  fi
}

pg2_down_native() {
  BIN=$(pg_bindir) || return 0
  [ -f "$PG2_DIR/data/postmaster.pid" ] || return 0
  say "stopping the second PostgreSQL"
  pg_stop "$BIN" "$PG2_DIR/data" "PostgreSQL on 127.0.0.1:$PG2_PORT" || true
}

pg_down_native() {
  BIN=$(pg_bindir) || return 0
  [ -f "$PG_DATA/postmaster.pid" ] || { say "PostgreSQL not running"; return 0; }
  say "stopping PostgreSQL"
  pg_stop "$BIN" "$PG_DATA" "PostgreSQL on 127.0.0.1:$PG_PORT" || true
}

emulator_ready() {
  curl -fsS -o /dev/null "http://127.0.0.1:$AWS_PORT/moto-api/" 2>/dev/null ||
    curl -fsS -o /dev/null "http://127.0.0.1:$AWS_PORT/_localstack/health" 2>/dev/null
}

moto_up() {
  if emulator_ready; then
    say "AWS emulator already answering on 127.0.0.1:$AWS_PORT"
    return
  fi
  if port_in_use "$AWS_PORT"; then
    die "port $AWS_PORT is taken by a program that is not an AWS emulator; stop it or set AWS_PORT"
  fi
  local cmd
  cmd=$(moto_cmd)
  say "starting moto server ($cmd, moto $("$(dirname "$cmd")/python3" -c 'import moto;print(moto.__version__)' 2>/dev/null || python3 -c 'import moto;print(moto.__version__)' 2>/dev/null || echo '?')) on 127.0.0.1:$AWS_PORT"
  mkdir -p "$STATE_DIR"
  nohup "$cmd" -H 127.0.0.1 -p "$AWS_PORT" >"$MOTO_LOG" 2>&1 </dev/null &
  echo $! >"$MOTO_PID"
  if ! wait_until 60 "moto server" emulator_ready; then
    tail -20 "$MOTO_LOG" >&2 || true
    die "moto server did not answer on 127.0.0.1:$AWS_PORT (log above: $MOTO_LOG)"
  fi
}

moto_down() {
  stop_pidfile "moto server" "$MOTO_PID"
}

# compose runs the compose file; the localstack stack is its own project, so it can run beside
# the default one on its own ports.
compose() {
  local project=rotaudit
  [ "$EMULATOR" = localstack ] && project=rotaudit-localstack
  docker compose -p "$project" -f "$ROOT/localstack/docker-compose.yml" "$@"
}

docker_up() {
  mkdir -p "$STATE_DIR"
  [ -f "$STATE_DIR/pg-superuser-password" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$STATE_DIR/pg-superuser-password")
  say "Docker engine found: starting LocalStack 4.14.0 and PostgreSQL with docker compose"
  PG_PORT=$PG_PORT AWS_PORT=$AWS_PORT POSTGRES_PASSWORD=$(cat "$STATE_DIR/pg-superuser-password") compose up -d --wait ||
    die "docker compose up failed; see: docker compose -f localstack/docker-compose.yml logs"
}

# mode: docker or native, fixed when the stack is first brought up. The localstack stack uses
# Docker only when the LocalStack image is already there (it never pulls it).
mode() {
  if [ -f "$MODE_FILE" ]; then
    cat "$MODE_FILE"
  elif docker_ready && { [ "$EMULATOR" != localstack ] || docker image inspect "localstack/localstack:$LOCALSTACK_VERSION" >/dev/null 2>&1; }; then
    echo docker
  else
    echo native
  fi
}

cmd_up() {
  local m
  m=$(mode)
  mkdir -p "$STATE_DIR"
  echo "$m" >"$MODE_FILE"
  if [ "$m" = docker ]; then
    docker_up
  elif [ "$EMULATOR" = localstack ]; then
    pg_up_native
    pg2_up_native
    localstack_up
    dynamodb_up
  else
    pg_up_native
    pg2_up_native
    moto_up
  fi
  if [ -x "$ROOT/scripts/bootstrap.sh" ] && [ "${ROTAUDIT_SKIP_BOOTSTRAP:-}" != 1 ]; then
    "$ROOT/scripts/bootstrap.sh"
  fi
  if [ "$EMULATOR" = localstack ]; then
    local ddb=
    [ "$m" = native ] && ddb=", DynamoDB (moto) http://127.0.0.1:$DYNAMODB_PORT"
    say "stack up: PostgreSQL 127.0.0.1:$PG_PORT, LocalStack http://127.0.0.1:$AWS_PORT$ddb (eval \"\$(scripts/stack.sh --emulator localstack env)\" to use it)"
  else
    say "stack up: PostgreSQL 127.0.0.1:$PG_PORT, AWS emulator http://127.0.0.1:$AWS_PORT (eval \"\$(scripts/stack.sh env)\" to use it)"
  fi
}

cmd_down() {
  if [ "$(mode)" = docker ]; then
    compose down || true
  elif [ "$EMULATOR" = localstack ]; then
    localstack_down
    pg2_down_native
    pg_down_native
  else
    moto_down
    pg2_down_native
    pg_down_native
  fi
  rm -f "$MODE_FILE"
}

cmd_status() {
  local ok=0
  if [ "$(mode)" = native ]; then
    BIN=$(pg_bindir) || true
    if [ -n "${BIN:-}" ] && pg_super_ready; then echo "postgresql: up (127.0.0.1:$PG_PORT)"; else echo "postgresql: down"; ok=1; fi
    if [ -n "${BIN:-}" ] && "$BIN/pg_isready" -q -h "$PG2_SOCKET_DIR" -p "$PG2_PORT"; then echo "second postgresql: up (127.0.0.1:$PG2_PORT)"; else echo "second postgresql: down"; ok=1; fi
  else
    if port_in_use "$PG_PORT"; then echo "postgresql: up (docker, 127.0.0.1:$PG_PORT)"; else echo "postgresql: down"; ok=1; fi
  fi
  if [ "$EMULATOR" = localstack ] && [ "$(mode)" = native ]; then
    if ls_ready; then echo "localstack: up (http://127.0.0.1:$AWS_PORT, pid $(cat "$LS_PID" 2>/dev/null || echo '?'))"; else echo "localstack: down"; ok=1; fi
    if ddb_ready; then echo "dynamodb (moto): up (http://127.0.0.1:$DYNAMODB_PORT)"; else echo "dynamodb (moto): down"; ok=1; fi
  elif emulator_ready; then
    echo "aws emulator: up (http://127.0.0.1:$AWS_PORT)"
  else
    echo "aws emulator: down"
    ok=1
  fi
  return $ok
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) stack_env ;;
  reset) cmd_down; say "deleting $STATE_DIR, $PG_DIR and $PG2_DIR"; rm -rf "$STATE_DIR" "$PG_DIR" "$PG2_DIR" ;;
  *) die "usage: scripts/stack.sh [--emulator moto|localstack] up|down|status|env|reset" ;;
esac
