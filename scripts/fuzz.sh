#!/usr/bin/env bash
# make fuzz: runs every FuzzXxx target in the module for FUZZTIME (default 20s) each.
# `go test` already runs each target's seed corpus; this explores beyond it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
FUZZTIME=${FUZZTIME:-20s}
found=0
while IFS= read -r file; do
  pkg=./$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    found=$((found + 1))
    say "fuzzing $target in $pkg for $FUZZTIME"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
  done
done < <(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' || true)
[ "$found" -gt 0 ] || die "no fuzz targets found"
say "$found fuzz targets ran for $FUZZTIME each without a failure"
