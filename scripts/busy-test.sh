#!/usr/bin/env bash
# scripts/busy-test.sh: what CI does, several times in a row, on a busy machine. Each run
# clones HEAD of this repository afresh into a scratch folder (with ../shared beside it,
# as CI has it) and runs .ci/run there, while `stress-ng --cpu N` keeps the cores busy.
# It stops at the first failure, keeping that clone for its logs; it prints one line per
# run and a summary. Nothing of this checkout's stack is used: stop it first (the runs
# take the default ports).
#
#   RUNS=3 STRESS_CPUS=2 scripts/busy-test.sh
#
# RUNS (default 3), STRESS_CPUS (default: every core; 0 runs without stress-ng),
# BUSY_DIR (default a folder under /tmp), SHARED (default ../shared of this checkout).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

RUNS=${RUNS:-3}
STRESS_CPUS=${STRESS_CPUS:-$(nproc)}
SHARED=${SHARED:-$(cd "$ROOT/.." && pwd)/shared}
BUSY_DIR=${BUSY_DIR:-$(mktemp -d /tmp/rotaudit-busy.XXXXXX)}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS=$RUNS: want a whole number of runs, 1 or more"
[[ $STRESS_CPUS =~ ^[0-9]+$ ]] || die "STRESS_CPUS=$STRESS_CPUS: want a whole number of workers (0: no stress)"
[ -d "$SHARED" ] || die "no shared folder at $SHARED: set SHARED to the folder CI puts beside the clone"
for port in 15432 4566; do
  if port_in_use "$port"; then
    die "port $port is in use (this checkout's stack?): the runs need it; stop it (scripts/stack.sh down)"
  fi
done
head=$(git rev-parse --short HEAD)
if [ -n "$(git status --porcelain)" ]; then
  warn "uncommitted changes are not part of the runs: they test HEAD ($head)"
fi

stress_pid=
stop_stress() {
  if [ -n "$stress_pid" ]; then
    kill "$stress_pid" 2>/dev/null || true
    wait "$stress_pid" 2>/dev/null || true
  fi
}
trap stop_stress EXIT
if [ "$STRESS_CPUS" -gt 0 ]; then
  command -v stress-ng >/dev/null || die "stress-ng is not installed (Debian: apt-get install stress-ng), or set STRESS_CPUS=0"
  stress-ng --cpu "$STRESS_CPUS" --quiet &
  stress_pid=$!
  say "stress-ng --cpu $STRESS_CPUS running (pid $stress_pid)"
fi

results=()
failed=0
for i in $(seq 1 "$RUNS"); do
  dir=$BUSY_DIR/run-$i
  mkdir -p "$dir"
  ln -sfn "$SHARED" "$dir/shared"
  git clone -q "$ROOT" "$dir/main"
  git -C "$dir/main" checkout -q --detach "$head" # every run tests the commit of the first
  say "run $i of $RUNS: $head in $dir/main (log: $dir/ci.log)"
  start=$(date +%s)
  set +e
  (cd "$dir/main" && .ci/run) >"$dir/ci.log" 2>&1
  rc=$?
  set -e
  secs=$(($(date +%s) - start))
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$dir/ci.log" | tail -1 || true)
  line="run $i: exit $rc in ${secs}s (${summary:-no summary line})"
  results+=("$line")
  say "$line"
  if [ "$rc" -ne 0 ]; then
    failed=1
    warn "run $i failed: its clone and log stay in $dir"
    break
  fi
  rm -rf "$dir/main"
done
echo
echo "busy-test of $head, stress-ng --cpu $STRESS_CPUS, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %s\n' "${results[@]}"
exit "$failed"
