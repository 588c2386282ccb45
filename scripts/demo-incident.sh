#!/usr/bin/env bash
# Acts out a credential incident on the local AWS emulator and shows the audit alerts as they
# arrive: an unknown principal reads the DB secret rotaudit/local/app, someone weakens the
# trail's event selectors, a rotation fails, and the intruder tries a database password that
# a rotation retired (a real login on the stack's PostgreSQL, read back from its log and
# delivered as a CloudWatch Logs subscription). The events go through the EventBridge
# patterns Terraform deploys (modules/audit-alerts/patterns), the auditor's handler (state
# in DynamoDB) and the SNS alert topic. Called by scripts/demo.sh; runs alone after
# `scripts/stack.sh up`. Everything it creates on the emulator is deleted when it ends.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  eval "$(stack_env)"
fi
"$ROOT/scripts/stack.sh" status >/dev/null 2>&1 || die "the local stack is not running: run scripts/stack.sh up (or make up) first"

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
say "building the rotaudit CLI"
go build -o "$bin/rotaudit" ./cmd/rotaudit
"$bin/rotaudit" audit incident -patterns "$ROOT/modules/audit-alerts/patterns" "$@"
