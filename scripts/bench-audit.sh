#!/usr/bin/env bash
# Audit replay benchmark. Generates a large mixed corpus of gzip CloudTrail log files
# (noise from other services, the deployment's own traffic, a few intrusions), then in the
# same run replays it through the rules and decodes it without rules, alternating, on one
# core (GOMAXPROCS=1). Prints records per CPU-second for each, their ratio, and the peak
# memory of a replay of a small and of a large file (it must not grow with file size), and
# the DynamoDB requests per audited event the Lambda would make (goal: at most 1.5 writes).
# Goals: replay >= 100,000 records/s per core, and a replay at >= 0.85x the throughput of a
# decode-only pass (the rules cost at most about a sixth of a record's decoding).
#
#   BENCH_AUDIT_FILES=8 BENCH_AUDIT_RECORDS=100000   corpus shape (files x records per file)
#   BENCH_AUDIT_LARGE=1000000                         records in the large memory-test file
#   BENCH_AUDIT_ROUNDS=3                              passes of each kind (best one counts)
#   BENCH_AUDIT_DIR=$TMPDIR/rotaudit-bench-audit      where the corpus is kept between runs
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

files=${BENCH_AUDIT_FILES:-8}
records=${BENCH_AUDIT_RECORDS:-100000}
large=${BENCH_AUDIT_LARGE:-1000000}
rounds=${BENCH_AUDIT_ROUNDS:-3}
# Cached corpora are keyed by the generator's source, so a changed generator regenerates.
dir=${BENCH_AUDIT_DIR:-${TMPDIR:-/tmp}/rotaudit-bench-audit}/gen-$(cat internal/testkit/corpus/*.go | cksum | cut -d' ' -f1)
for v in files records large rounds; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_AUDIT_${v^^} must be a positive integer, got '${!v}'"
done

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
say "building the rotaudit CLI and the corpus generator (internal/testkit/auditcorpus)"
go build -o "$bin/rotaudit" ./cmd/rotaudit
go build -o "$bin/auditcorpus" ./internal/testkit/auditcorpus
rotaudit() { "$bin/rotaudit" "$@"; }
auditcorpus() { "$bin/auditcorpus" "$@"; }

corpus=$dir/mixed-${files}x${records}
if [ ! -f "$corpus/.done" ]; then
  say "generating the mixed corpus: $files gzip files x $records records in $corpus"
  rm -rf "$corpus" && mkdir -p "$corpus"
  auditcorpus -out "$corpus" -files "$files" -records "$records" -seed 1 >/dev/null
  touch "$corpus/.done"
fi
for n in 1000 20000 "$large"; do
  if [ ! -f "$dir/single-$n/.done" ]; then
    say "generating a single file of $n records for the memory test"
    rm -rf "$dir/single-$n" && mkdir -p "$dir/single-$n"
    auditcorpus -out "$dir/single-$n" -files 1 -records "$n" -seed 2 >/dev/null
    touch "$dir/single-$n/.done"
  fi
done
if [ ! -f "$dir/benign/.done" ]; then
  say "generating eight days of benign traffic (API reads every 3 minutes, 4 rotations, 2 deploys)"
  rm -rf "$dir/benign" && mkdir -p "$dir/benign"
  auditcorpus -out "$dir/benign" -benign-days 8 -seed 7 >/dev/null
  touch "$dir/benign/.done"
fi
auditcorpus -print-config >"$bin/config.json"
size=$(du -sh "$corpus" | cut -f1)

field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
best_replay=0 best_decode=0 round_ratios=""
for r in $(seq "$rounds"); do
  say "round $r/$rounds: decode-only pass"
  d=$(GOMAXPROCS=1 rotaudit audit replay -decode-only -stats "$corpus" 2>&1 >/dev/null | tail -1)
  say "round $r/$rounds: replay through the rules"
  p=$(GOMAXPROCS=1 rotaudit audit replay -config "$bin/config.json" -stats "$corpus" 2>&1 >"$bin/findings.jsonl" | tail -1)
  dr=$(field records_per_cpu_s <<<"$d"); pr=$(field records_per_cpu_s <<<"$p")
  printf '    decode-only %8s rec/cpu-s   replay %8s rec/cpu-s   (%s records, %s findings)\n' "$dr" "$pr" "$(field records <<<"$p")" "$(field findings <<<"$p")" >&2
  round_ratios+="$(awk -v a="$pr" -v b="$dr" 'BEGIN { printf "%.2f", a / b }') "
  ((dr > best_decode)) && best_decode=$dr
  ((pr > best_replay)) && best_replay=$pr
done

say "peak memory of a replay, small files against a large one"
rss() { GOMAXPROCS=1 rotaudit audit replay -config "$bin/config.json" -stats "$dir/single-$1" 2>&1 >/dev/null | tail -1 | field peak_rss_kib; }
tiny_rss=$(rss 1000)
small_rss=$(rss 20000)
large_rss=$(rss "$large")
large_gz=$(du -k "$dir/single-$large"/*.gz | cut -f1)

say "false positives: replaying the benign corpus"
benign=$(rotaudit audit replay -config "$bin/config.json" -stats -count-delivered "$dir/benign" 2>&1 >"$bin/benign.jsonl" | tail -1)
fp=$(wc -l <"$bin/benign.jsonl")

ratio=$(awk -v a="$best_replay" -v b="$best_decode" 'BEGIN { printf "%.2f", a / b }')
mem_ratio=$(awk -v a="$large_rss" -v b="$small_rss" 'BEGIN { printf "%.2f", a / b }')
verdict_max() { if awk -v x="$1" -v g="$2" 'BEGIN { exit !(x <= g) }'; then echo "goal met (<= $2)"; else echo "GOAL MISSED (> $2)"; fi; }
verdict() { if awk -v x="$1" -v g="$2" 'BEGIN { exit !(x >= g) }'; then echo "goal met (>= $2)"; else echo "GOAL MISSED (< $2)"; fi; }
cat <<REPORT

audit replay benchmark ($(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), GOMAXPROCS=1)
  corpus                 $files gzip files x $records records ($size on disk), mixed traffic
  replay                 $best_replay records/s per core   $(verdict "$best_replay" 100000)
  decode-only            $best_decode records/s per core
  replay / decode-only   $ratio   $(verdict "$ratio" 0.85)   (best of each; round by round: ${round_ratios% })
  false positives        $fp findings on $(field records <<<"$benign") benign records (8 days: API reads every 3 min, 4 rotations, 2 Terraform deploys)
  state writes per event $(field writes_per_delivered_event <<<"$benign") on the benign week ($(field state_writes <<<"$benign") writes, $(field state_reads <<<"$benign") reads for $(field delivered <<<"$benign") events the patterns deliver)   $(verdict_max "$(field writes_per_delivered_event <<<"$benign")" 1.5)
  peak RSS, 1,000 records      $tiny_rss KiB  (ends before the first garbage collections)
  peak RSS, 20,000 records     $small_rss KiB
  peak RSS, $large records $large_rss KiB  (file ${large_gz} KiB gzip; ratio to 20,000: $mem_ratio, flat when close to 1)
REPORT
