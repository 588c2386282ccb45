#!/usr/bin/env bash
# Prepares the rates database and its secrets on the running local stack; scripts/stack.sh up
# runs it after both services answer. Idempotent: roles, database, migrations, grants; demo
# data when the tables are empty; secrets kept when their password still logs in.
#
# Grants go to the NOLOGIN role rates_reader only; rates_app (and rates_app_clone, once a
# rotation made it) are its members, so a reload leaves whichever user the secret names able
# to read. Only the admin role and the database are made as superuser; the rest runs as
# rotaudit_admin (CREATEROLE, not superuser), as the RDS master would. On a deployed database
# `rotaudit db setup --master-secret ARN --app-secret ARN` (or the dbbootstrap Lambda) does the
# same with the master's secret and no superuser at all.
#
#   RATES_SQL=path/to/dump.sql scripts/bootstrap.sh   loads a plain pg_dump instead of demo data
#
# It connects as the cluster's superuser over the unix socket (native stack) or over TCP with
# the generated superuser password (Docker stack), and runs `rotaudit db setup`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
eval "$(stack_env)"

command -v go >/dev/null 2>&1 || die "go is not on PATH: install Go $(sed -n 's/^go //p' go.mod) to build rotaudit"

if [ "$(cat "$STATE_DIR/mode" 2>/dev/null || echo native)" = docker ]; then
  export ROTAUDIT_PG_SUPER_DSN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres sslmode=disable"
  PGPASSWORD=$(cat "$STATE_DIR/pg-superuser-password") || die "docker stack: $STATE_DIR/pg-superuser-password is missing"
  export PGPASSWORD
else
  export ROTAUDIT_PG_SUPER_DSN="host=$PG_SOCKET_DIR port=$PG_PORT user=postgres dbname=postgres sslmode=disable"
fi
if [ -n "${RATES_SQL:-}" ]; then
  [ -r "$RATES_SQL" ] || die "RATES_SQL=$RATES_SQL: no such readable file"
  say "bootstrap: loading the dump $RATES_SQL instead of the demo data"
fi

say "bootstrap: building the operator tool (go build ./cmd/rotaudit)"
mkdir -p "$STATE_DIR/bin"
go build -o "$STATE_DIR/bin/rotaudit" ./cmd/rotaudit || die "go build ./cmd/rotaudit failed (output above)"
say "bootstrap: roles, database, schema, data and secrets"
"$STATE_DIR/bin/rotaudit" db setup || die "rotaudit db setup failed (output above)"

# envs/local's other two databases (issue 21): rates_b beside rates on this cluster, under the
# same master (one rotaudit_admin per cluster, so the same secret), and rates on the second
# cluster with a master secret of its own, made the same way: no password leaves the stack.
say "bootstrap: the second database rates_b on 127.0.0.1:$PG_PORT"
"$STATE_DIR/bin/rotaudit" db setup --database rates_b --app-role rates_b_app --app-secret rotaudit/local/rates_b/app --admin-secret-database rates ||
  die "rotaudit db setup of rates_b failed (output above)"
if [ "$(cat "$STATE_DIR/mode" 2>/dev/null || echo native)" = docker ]; then
  warn "bootstrap: the Docker stack has no second PostgreSQL cluster; envs/local's third database needs the native stack"
else
  say "bootstrap: the second cluster on 127.0.0.1:$PG2_PORT (master secret rotaudit/local/pg2/admin)"
  ROTAUDIT_PG_SUPER_DSN="host=$PG2_SOCKET_DIR port=$PG2_PORT user=postgres dbname=postgres sslmode=disable" ROTAUDIT_PG_PORT=$PG2_PORT \
    "$STATE_DIR/bin/rotaudit" db setup --app-secret rotaudit/local/pg2/app --admin-secret rotaudit/local/pg2/admin ||
    die "rotaudit db setup on the second cluster failed (output above)"
fi
