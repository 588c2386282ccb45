# shellcheck shell=bash
# Shared helpers for the scripts in this folder. Source it; it sets nothing but functions
# and the defaults of the local stack, each overridable from the environment.

# runuser and friends live in the sbin folders, which a minimal PATH lacks.
for _dir in /usr/sbin /sbin; do
  case ":$PATH:" in *":$_dir:"*) ;; *) PATH="$PATH:$_dir" ;; esac
done
unset _dir

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
STATE_DIR=${ROTAUDIT_STATE_DIR:-$ROOT/.stack}
PG_PORT=${PG_PORT:-15432}
AWS_PORT=${AWS_PORT:-4566}
# The cluster runs as the 'postgres' OS user when we are root; that user must be able to reach
# its folder, which a clone under a private home folder does not allow. Then the cluster lives
# under /var/tmp instead (one per port).
PG_DIR=${ROTAUDIT_PG_DIR:-$STATE_DIR/pg}
if [ -z "${ROTAUDIT_PG_DIR:-}" ] && [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 &&
  ! runuser -u postgres -- test -x "$(dirname "$STATE_DIR")" 2>/dev/null; then
  PG_DIR=/var/tmp/rotaudit-pg-$PG_PORT
fi
PG_SOCKET_DIR=$PG_DIR/run

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

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

# docker_ready: true when a Docker engine answers (the client alone is not enough).
docker_ready() {
  [ "${ROTAUDIT_NO_DOCKER:-}" != 1 ] && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

# stack_env prints the environment that points SDKs, psql and the tests at the stack.
stack_env() {
  cat <<ENV
export PGHOST=127.0.0.1
export PGPORT=$PG_PORT
export PG_PORT=$PG_PORT
export AWS_PORT=$AWS_PORT
export ROTAUDIT_PG_PORT=$PG_PORT
export ROTAUDIT_PG_SOCKET_DIR=$PG_SOCKET_DIR
export ROTAUDIT_PG_LOG=$PG_DIR/postgres.log
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
