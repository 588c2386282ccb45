# shellcheck shell=bash
# Shared helpers for the scripts in this folder. Source it; it sets nothing but functions
# and the defaults of the local stack, each overridable from the environment.

# runuser and friends live in the sbin folders, which a minimal PATH lacks.
for _dir in /usr/sbin /sbin; do
  case ":$PATH:" in *":$_dir:"*) ;; *) PATH="$PATH:$_dir" ;; esac
done
unset _dir

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# ROTAUDIT_EMULATOR picks the stack: moto (the default) or localstack (LocalStack 4.14.0, with
# moto serving only DynamoDB). Each has its own state folder, ports and PostgreSQL cluster, so
# both can run side by side and neither's bootstrap resets the other's passwords; the
# localstack stack is moved with LOCALSTACK_* variables, so PG_PORT/AWS_PORT set for the moto
# stack never leak into it.
EMULATOR=${ROTAUDIT_EMULATOR:-moto}
case $EMULATOR in
  moto)
    STATE_DIR=${ROTAUDIT_STATE_DIR:-$ROOT/.stack}
    PG_PORT=${PG_PORT:-15432}
    PG2_PORT=${PG2_PORT:-$((PG_PORT + 10))}
    AWS_PORT=${AWS_PORT:-4566}
    ;;
  localstack)
    STATE_DIR=${LOCALSTACK_STATE_DIR:-$ROOT/.stack-localstack}
    PG_PORT=${LOCALSTACK_PG_PORT:-15433}
    PG2_PORT=${LOCALSTACK_PG2_PORT:-$((PG_PORT + 10))}
    AWS_PORT=${LOCALSTACK_PORT:-4567}
    DYNAMODB_PORT=${LOCALSTACK_DYNAMODB_PORT:-4568}
    ;;
  *) die "ROTAUDIT_EMULATOR=$EMULATOR: want moto or localstack" ;;
esac
# The cluster runs as the 'postgres' OS user when we are root; that user must be able to reach
# its folder, which a clone under a private home folder does not allow. Then the cluster lives
# under /var/tmp instead (one per port).
PG_DIR=${ROTAUDIT_PG_DIR:-$STATE_DIR/pg}
if [ -z "${ROTAUDIT_PG_DIR:-}" ] && [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 &&
  ! runuser -u postgres -- test -x "$(dirname "$STATE_DIR")" 2>/dev/null; then
  PG_DIR=/var/tmp/rotaudit-pg-$PG_PORT
fi
PG_SOCKET_DIR=$PG_DIR/run
# The second cluster (envs/local's third database runs on it; issue 21): PG2_PORT (set
# above: by default PG_PORT+10, clear of the localstack stack's PG_PORT+1 and the majors'
# ports; LOCALSTACK_PG2_PORT for the localstack stack)
# and a folder beside the first cluster's.
PG2_DIR=${ROTAUDIT_PG2_DIR:-$PG_DIR-2}
PG2_SOCKET_DIR=$PG2_DIR/run

# as_pg COMMAND...: runs COMMAND as the owner of the clusters: postgres refuses to run as root.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_cluster_init BINDIR DIR PORT MAX_CONNECTIONS LABEL [EXTRA_CONF]: a private test cluster
# in DIR/data unless one is there: scram-sha-256 over TCP on 127.0.0.1:PORT, the postgres
# superuser trusted on the socket in DIR/run, durability off (nothing here outlives a test).
pg_cluster_init() {
  local bin=$1 dir=$2 port=$3 maxconn=$4 label=$5 extra=${6:-}
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' OS user (apt-get install postgresql creates it)"
    chown postgres "$dir"
  fi
  [ -f "$dir/data/PG_VERSION" ] && return 0
  say "$label: creating a private cluster in $dir/data ($("$bin/postgres" --version))"
  as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { tail -20 "$dir/initdb.log" >&2; die "initdb of $label failed (log above)"; }
  as_pg mkdir -p "$dir/run"
  cat <<CONF | as_pg tee -a "$dir/data/postgresql.conf" >/dev/null
# rotaudit: $label
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/run'
password_encryption = 'scram-sha-256'
max_connections = $maxconn
logging_collector = off
log_connections = on
log_line_prefix = '%m [%p] %u@%d '
fsync = off
synchronous_commit = off
full_page_writes = off
$extra
CONF
}

# port_in_use PORT: true when something listens on 127.0.0.1:PORT.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_until() {
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      printf 'error: %s not ready after %ss\n' "$what" "$limit" >&2
      return 1
    fi
    sleep 0.2
  done
}

# pid_alive PIDFILE: the process the file names runs.
pid_alive() {
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# stop_pid NAME PID: stops a process, TERM then KILL after 15 s, and waits until it is gone.
stop_pid() {
  local what=$1 pid=$2
  kill -0 "$pid" 2>/dev/null || return 0
  say "stopping $what (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  warn "$what did not stop within 15 s; killing it"
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  warn "$what (pid $pid) is still there after kill -9"
  return 1
}

# stop_pidfile NAME PIDFILE: stop_pid on the process a pid file names, then removes the file.
stop_pidfile() {
  local what=$1 file=$2
  if pid_alive "$file"; then
    stop_pid "$what" "$(cat "$file")" || true
  else
    say "$what not running"
  fi
  rm -f "$file"
}

# pg_stop BINDIR DATADIR NAME: stops a cluster: a fast shutdown, then an immediate one, then
# KILL of the postmaster, each when the one before did not end it in time (a busy machine,
# a hung backend), so nothing is left running.
pg_stop() {
  local bin=$1 data=$2 what=$3 pid
  [ -f "$data/postmaster.pid" ] || return 0
  as_pg "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 && return 0
  warn "$what did not stop within 60 s (fast shutdown); trying an immediate shutdown"
  as_pg "$bin/pg_ctl" -D "$data" -m immediate -w -t 20 stop >/dev/null 2>&1 && return 0
  pid=$(head -1 "$data/postmaster.pid" 2>/dev/null) || return 0
  [ -n "$pid" ] && stop_pid "$what" "$pid"
}

# docker_ready: true when a Docker engine answers (the client alone is not enough).
docker_ready() {
  [ "${ROTAUDIT_NO_DOCKER:-}" != 1 ] && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

# stack_emulator prints the emulator that serves the stack's AWS endpoint: the Docker stack
# always runs LocalStack, whatever ROTAUDIT_EMULATOR says.
stack_emulator() {
  if [ "$(cat "$STATE_DIR/mode" 2>/dev/null)" = docker ]; then echo localstack; else echo "$EMULATOR"; fi
}

# stack_env prints the environment that points SDKs, psql and the tests at the stack.
# ROTAUDIT_AWS_EMULATOR tells the tests which emulator answers (internal/testenv reads it).
stack_env() {
  local docker=
  [ "$(cat "$STATE_DIR/mode" 2>/dev/null)" = docker ] && docker=1
  if [ "$EMULATOR" = localstack ]; then
    # What a child's lib.sh reads in this mode, so scripts and tests find the same stack.
    printf 'export %s\n' "LOCALSTACK_STATE_DIR=$STATE_DIR" "LOCALSTACK_PG_PORT=$PG_PORT" "LOCALSTACK_PG2_PORT=$PG2_PORT" \
      "LOCALSTACK_PORT=$AWS_PORT" "LOCALSTACK_DYNAMODB_PORT=$DYNAMODB_PORT"
  fi
  if [ "$EMULATOR" = localstack ] && [ -z "$docker" ]; then
    # LocalStack's free edition has neither DynamoDB (offline) nor RDS: the moto server beside
    # it serves both.
    echo "export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DYNAMODB_PORT"
    echo "export AWS_ENDPOINT_URL_RDS=http://127.0.0.1:$DYNAMODB_PORT"
  else
    echo "unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_RDS"
  fi
  cat <<ENV
export ROTAUDIT_EMULATOR=$EMULATOR
export ROTAUDIT_AWS_EMULATOR=$(stack_emulator)
export PGHOST=127.0.0.1
export PGPORT=$PG_PORT
export PG_PORT=$PG_PORT
export AWS_PORT=$AWS_PORT
export ROTAUDIT_PG_PORT=$PG_PORT
export ROTAUDIT_PG_SOCKET_DIR=$PG_SOCKET_DIR
export ROTAUDIT_PG_LOG=$PG_DIR/postgres.log
export PG2_PORT=$PG2_PORT
export ROTAUDIT_PG2_PORT=$PG2_PORT
export ROTAUDIT_PG2_SOCKET_DIR=$PG2_SOCKET_DIR
export ROTAUDIT_PG2_LOG=$PG2_DIR/postgres.log
export ROTAUDIT_STATE_DIR=$STATE_DIR
export AWS_ENDPOINT_URL=http://127.0.0.1:$AWS_PORT
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
ENV
}

# moto_cmd prints the moto server command: MOTO_SERVER, the installed moto_server, or one
# installed into .venv (moto[server]==5.2.1) on first use.
moto_cmd() {
  if [ -n "${MOTO_SERVER:-}" ]; then echo "$MOTO_SERVER"; return; fi
  if command -v moto_server >/dev/null 2>&1 && moto_server --help >/dev/null 2>&1; then
    command -v moto_server; return
  fi
  if [ -x "$ROOT/.venv/bin/moto_server" ]; then echo "$ROOT/.venv/bin/moto_server"; return; fi
  say "moto server not found: installing moto[server]==5.2.1 into $ROOT/.venv" >&2
  python3 -m venv "$ROOT/.venv" >&2 || die "python3 -m venv failed: install python3-venv"
  "$ROOT/.venv/bin/pip" install -q 'moto[server]==5.2.1' >&2 || die "pip could not install moto[server]==5.2.1"
  echo "$ROOT/.venv/bin/moto_server"
}
