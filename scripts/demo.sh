#!/usr/bin/env bash
# make demo: brings the local stack up, starts the rates API on it, shows real queries and
# their answers, and explains what runs. Then, when present and executable, the rotation
# demo (scripts/demo-rotation.sh) and the audit demo (scripts/demo-incident.sh) run against
# the same API with API_URL, API_LOG and the stack's environment exported. The API stops
# when this script ends, however it ends; the stack keeps running (make down stops it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

API_PORT=${API_PORT:-3000}
SECRET_ID=${DB_SECRET_ID:-rotaudit/local/app}

title() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
explain() { printf '   %s\n' "$@"; }

# show_get PATH: the request, its status and its JSON answer (rates as a table).
show_get() {
  local path=$1 body status
  body=$(curl -sS -w '\n%{http_code}' "$API_URL$path") || die "GET $path failed: is the API running? (log: $API_LOG)"
  status=${body##*$'\n'}
  body=${body%$'\n'*}
  printf '\n   $ curl "%s%s"\n   -> HTTP %s\n' "$API_URL" "$path" "$status"
  if command -v python3 >/dev/null 2>&1; then
    printf '%s' "$body" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
if isinstance(doc, dict) and "rates" in doc:
    r = doc["rates"]
    print("      %-10s %6s %10s" % ("day", "count", "price"))
    for x in r[:8]:
        p = "null" if x["price"] is None else "%.2f" % x["price"]
        c = "null" if x["count"] is None else x["count"]
        print("      %-10s %6s %10s" % (x["day"], c, p))
    if len(r) > 8:
        print("      ... %d days in all, newest first" % len(r))
else:
    print("      " + json.dumps(doc))
'
  else
    printf '      %s\n' "$body"
  fi
}

title "1. The local stack: PostgreSQL and an AWS emulator"
"$ROOT/scripts/stack.sh" up
eval "$(stack_env)"
explain "PostgreSQL 127.0.0.1:$PG_PORT, database 'rates' (tables ports, regions, prices; demo data" \
  "unless RATES_SQL named a dump). Role rotaudit_admin owns the tables and will rotate; role" \
  "rates_app, the API's, may only SELECT." \
  "AWS emulator $AWS_ENDPOINT_URL ($(cat "$STATE_DIR/mode" 2>/dev/null || echo native) mode) with two Secrets Manager secrets in the" \
  "JSON that AWS uses for RDS credentials (passwords are random and never printed):"
"$STATE_DIR/bin/rotaudit" db show | sed 's/^/     /'

title "2. The rates API"
mkdir -p "$STATE_DIR/bin"
say "building the API (go build ./service)"
go build -o "$STATE_DIR/bin/rates-api" ./service
if port_in_use "$API_PORT"; then
  warn "port $API_PORT is taken; the API takes a free port instead (set API_PORT to choose)"
  API_PORT=0
fi
API_LOG=$STATE_DIR/api.log
: >"$API_LOG"
# Nothing but the secret's id and the AWS SDK settings: no password in the API's environment.
env -i PATH="$PATH" DB_SECRET_ID="$SECRET_ID" PORT="$API_PORT" \
  AWS_ENDPOINT_URL="$AWS_ENDPOINT_URL" AWS_REGION="$AWS_REGION" AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" \
  AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" AWS_EC2_METADATA_DISABLED=true \
  "$STATE_DIR/bin/rates-api" >>"$API_LOG" 2>&1 &
API_PID=$!
stop_api() {
  if kill -0 "$API_PID" 2>/dev/null; then
    say "stopping the API (SIGTERM: it finishes in-flight requests first)"
    kill -TERM "$API_PID" 2>/dev/null || true
    wait "$API_PID" 2>/dev/null || true
  fi
}
trap stop_api EXIT
port=
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' "$API_LOG" | head -1)
  [ -n "$port" ] && curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break
  kill -0 "$API_PID" 2>/dev/null || { tail -20 "$API_LOG" >&2; die "the API exited at startup (log above: $API_LOG)"; }
  sleep 0.1
done
[ -n "$port" ] || { tail -20 "$API_LOG" >&2; die "the API did not become ready within 10s (log: $API_LOG)"; }
API_URL=http://127.0.0.1:$port
explain "The API (pid $API_PID) listens on $API_URL; its log, one JSON line per request, is $API_LOG." \
  "Its environment holds DB_SECRET_ID=$SECRET_ID and the AWS SDK settings, nothing else: it reads" \
  "the credentials from the secret (AWSCURRENT), caches them, and re-reads the secret when" \
  "PostgreSQL rejects a login, so a rotation does not interrupt it."

title "3. Queries and answers"
explain "The reference README's example: one route over January 2021; price is the average of the" \
  "day's prices, null when there are fewer than three; count is null when there are none."
show_get "/rates?date_from=2021-01-01&date_to=2021-01-31&orig_code=CNGGZ&dest_code=EETLL"
explain "" "Another route of the demo data, a week: some days have only one or two prices."
show_get "/rates?date_from=2021-01-01&date_to=2021-01-08&orig_code=NOOSL&dest_code=CNSGH"
explain "" "Bad requests are answered 400 with a JSON error that says why:"
show_get "/rates?date_from=2021-01-31&date_to=2021-01-01&orig_code=CNGGZ&dest_code=EETLL"
show_get "/rates?date_from=2021-01-01&date_to=2023-01-01&orig_code=CNGGZ&dest_code=EETLL"
show_get "/rates?date_from=2021-01-01&date_to=2021-01-31&orig_code=CNGGZ"
show_get "/rates?date_from=2021-01-01&date_to=2021-01-31&orig_code=CNGGZ&dest_code=EETLL&currency=EUR"
explain "" "Health (process up) and readiness (database answers), for the load balancer and ECS:"
show_get "/healthz"
show_get "/readyz"
show_get "/"
explain "" "The last lines of the API's log:"
tail -3 "$API_LOG" | sed 's/^/     /'

export API_URL API_LOG API_PID
for part in demo-rotation demo-incident; do
  if [ -x "$ROOT/scripts/$part.sh" ]; then
    title "$([ "$part" = demo-rotation ] && echo "4. Rotation under load" || echo "5. Audit: an incident and its alerts")"
    "$ROOT/scripts/$part.sh"
  fi
done

title "Done"
explain "The stack keeps running: 'make status' shows it, 'make down' stops it, 'make test' runs every test." \
  "Run the API yourself: DB_SECRET_ID=$SECRET_ID go run ./service  (after: eval \"\$(scripts/stack.sh env)\")"
