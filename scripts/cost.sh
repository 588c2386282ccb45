#!/usr/bin/env bash
# make cost ENV=dev|stage|prod: the monthly estimate of an environment from its plan.
# By default the committed plan (internal/cost/testdata/plan-<env>.json, written by
# scripts/cost-plan.sh) is priced; COST_FRESH=1 plans the root offline first, and
# PLAN=file prices any `terraform show -json` output instead. COST_FLAGS passes flags on
# to rotaudit cost (--rps 50, --cloudtrail-events-per-day 1e6, --format markdown, ...).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

env=${1:-}
case "$env" in
  dev | stage | prod) ;;
  *) die "usage: make cost ENV=dev|stage|prod (got '${env}')" ;;
esac
plan=${PLAN:-internal/cost/testdata/plan-$env.json}
if [ -z "${PLAN:-}" ] && [ "${COST_FRESH:-}" = 1 ]; then
  "$ROOT/scripts/cost-plan.sh" "$env"
fi
[ -f "$plan" ] || die "$plan not found: run scripts/cost-plan.sh $env (or give PLAN=file)"
say "pricing $plan (assumptions: internal/cost/assumptions.json, set $env)"
# shellcheck disable=SC2086 # COST_FLAGS is a list of flags
go run ./cmd/rotaudit cost --plan "$plan" --env "$env" ${COST_FLAGS:-}
