#!/usr/bin/env bash
# make bench-rotation: full rotation wall time against its floor (the same Secrets
# Manager calls and database logins back to back, no logic) in the same run, and the
# rotator bootstrap's cold start and peak RSS under aws-lambda-rie. About a minute.
# ROTAUDIT_BENCH_RUNS sets the rotations per strategy (default 15).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

say "local stack (started if needed)"
scripts/stack.sh up >&2
eval "$(scripts/stack.sh env)"
say "aws-lambda-rie"
scripts/install-rie.sh >/dev/null
say "benchmarking rotation (goals: rotation <= 1.3x floor; cold start < 50 ms; RSS < 30 MiB)"
ROTAUDIT_BENCH=1 go test -count=1 -v -run '^TestRotationBenchmark$' ./functions/rotator |
  grep -v -e '^=== RUN' -e '^--- PASS' -e '^PASS$' -e '^ok ' -e 'WARN failed to discard'
