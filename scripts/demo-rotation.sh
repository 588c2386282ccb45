#!/usr/bin/env bash
# Rotation under load, part of `make demo` (scripts/demo.sh calls it with API_URL and the
# stack's environment exported, the API serving DB_SECRET_ID, by default
# rotaudit/local/app). It rotates the app secret several times with both strategies,
# in-process through `rotaudit rotate`, while a steady load of GET requests runs against
# the API, then prints the requests served, the requests failed (must be 0) and the
# rotations done. Exits non-zero if a request or a rotation failed.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

: "${API_URL:?API_URL must point at the running rates API (scripts/demo.sh sets it)}"
[ -n "${AWS_ENDPOINT_URL:-}" ] || eval "$(scripts/stack.sh env)"
SECRET_ID=${DB_SECRET_ID:-rotaudit/local/app}
MASTER_SECRET_ID=${DB_MASTER_SECRET_ID:-rotaudit/local/admin}
ROTATIONS=${ROTATIONS:-6}

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
say "building the operator tool (go build ./cmd/rotaudit)"
go build -o "$bin/rotaudit" ./cmd/rotaudit

printf '   %s\n' \
  "rotaudit rotate does what Secrets Manager does: a new version labelled AWSPENDING, then" \
  "createSecret, setSecret, testSecret and finishSecret. Strategies alternate: alternating-users" \
  "switches the secret between rates_app and rates_app_clone (made by the admin user, with the" \
  "same grants), single-user changes the current user's password. The new password reaches" \
  "PostgreSQL only as a SCRAM verifier. Meanwhile 8 clients query the API without pause." ""
say "checking first, changing nothing: rotaudit doctor"
"$bin/rotaudit" doctor --secret-id "$SECRET_ID" --strategy alternating-users --master-secret "$MASTER_SECRET_ID" | sed 's/^/   /'

load="$API_URL/rates?date_from=2021-01-01&date_to=2021-01-31&orig_code=CNGGZ&dest_code=EETLL,$API_URL/readyz"
say "rotating $SECRET_ID $ROTATIONS times under load"
set +e
"$bin/rotaudit" rotate --secret-id "$SECRET_ID" --master-secret "$MASTER_SECRET_ID" --allow-disabled --count "$ROTATIONS" \
  --strategy alternating-users,single-user --load-url "$load" --load-concurrency 8 | tee "$bin/out" | sed 's/^/   /'
rc=${PIPESTATUS[0]}
set -e
rotations=$(grep -c 'is AWSCURRENT' "$bin/out" || true)
summary=$(grep '^load:' "$bin/out" || true)
served=$(sed -n 's/^load: \([0-9]*\) requests served.*/\1/p' <<<"$summary")
failed=$(sed -n 's/.* \([0-9]*\) failed$/\1/p' <<<"$summary")
printf '\n   requests served: %s\n   requests failed: %s\n   rotations done:  %s of %s\n' "${served:-?}" "${failed:-?}" "$rotations" "$ROTATIONS"
[ "$rc" -eq 0 ] || die "rotation under load failed (output above)"
