#!/usr/bin/env bash
# Backfill benchmark: the fan-out of `rotaudit audit backfill` against single-process
# `rotaudit audit replay` on the same files. Generates a mixed corpus of gzip CloudTrail
# log files (cached), puts it into a bucket of the local emulator as an organization trail
# files it (one account, BENCH_BACKFILL_STREAMS regions, each stream's files in order), then
#   (a) replays the bucket in one process (s3://bucket/AWSLogs/, state in memory);
#   (b) for N in BENCH_BACKFILL_WORKERS: sends the bucket to an SQS FIFO queue with the
#       backfill's code and drains it with the real auditor (functions/auditor built as
#       Lambda runs it) behind N aws-lambda-rie workers, fed by internal/testkit/esm, the
#       stand-in for Lambda's SQS event source mapping; state in the emulator's DynamoDB.
# Prints records/s of each, the ratio to replay, and the measured cost per record: function
# duration and CPU, SQS requests, S3 GETs, DynamoDB requests. The emulator (moto, one
# Python process) serves every worker's DynamoDB reads: on this machine it bounds what N
# workers can gain, and 2 cores bound it anyway.
#
#   BENCH_BACKFILL_RECORDS=1000000   records in all (default 1M, the docs' run)
#   BENCH_BACKFILL_FILES=200         files they are written into
#   BENCH_BACKFILL_STREAMS=8         account-region streams (FIFO message groups)
#   BENCH_BACKFILL_WORKERS="1 2 4"   worker counts to measure
#   BENCH_BACKFILL_ORDER_CHECK=1     also file the corpus as one stream and drain it with one
#                                    worker: the order replay keeps, so the same findings
#   BENCH_BACKFILL_DIR=$TMPDIR/rotaudit-bench-backfill   where the corpus is kept
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

records=${BENCH_BACKFILL_RECORDS:-1000000}
files=${BENCH_BACKFILL_FILES:-200}
streams=${BENCH_BACKFILL_STREAMS:-8}
workers=${BENCH_BACKFILL_WORKERS:-1 2 4}
order_check=${BENCH_BACKFILL_ORDER_CHECK:-1}
for v in records files streams; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_BACKFILL_${v^^} must be a positive integer, got '${!v}'"
done
for n in $workers; do [[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_BACKFILL_WORKERS must hold positive integers, got '$workers'"; done
((records >= files)) || die "BENCH_BACKFILL_RECORDS ($records) must be at least BENCH_BACKFILL_FILES ($files)"
per_file=$((records / files))
dir=${BENCH_BACKFILL_DIR:-${TMPDIR:-/tmp}/rotaudit-bench-backfill}/gen-$(cat internal/testkit/corpus/*.go | cksum | cut -d' ' -f1)

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
say "building the CLI, the corpus generator, the benchmark driver and the auditor (as Lambda runs it)"
go build -o "$bin/rotaudit" ./cmd/rotaudit
go build -o "$bin/auditcorpus" ./internal/testkit/auditcorpus
go build -o "$bin/backfillbench" ./internal/testkit/backfillbench
CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -tags lambda.norpc -ldflags "-s -w" -o "$bin/bootstrap" ./functions/auditor
rie=$(scripts/install-rie.sh)

corpus=$dir/mixed-${files}x${per_file}
if [ ! -f "$corpus/.done" ]; then
  say "generating the mixed corpus: $files gzip files x $per_file records in $corpus"
  rm -rf "$corpus" && mkdir -p "$corpus"
  "$bin/auditcorpus" -out "$corpus" -files "$files" -records "$per_file" -seed 1 >/dev/null
  touch "$corpus/.done"
fi
"$bin/auditcorpus" -print-config >"$bin/config.json"

say "local stack (started if needed)"
scripts/stack.sh up >&2
eval "$(scripts/stack.sh env)"
bucket=rotaudit-bench-backfill-$files-$per_file-$streams
say "putting the corpus into s3://$bucket/AWSLogs/ ($streams streams)"
"$bin/backfillbench" -bucket "$bucket" -upload "$corpus" -streams "$streams" >&2

field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
# by_rule FILE: the new findings (not updates) of replay's output by rule, as {"RA-01":3,...}
by_rule() {
  grep '"activity_id":1,' "$1" | sed -n 's/.*"analytic":{[^}]*"uid":"\([A-Z]*-[0-9]*\)".*/\1/p' | sort | uniq -c |
    awk 'BEGIN { printf "{" } { printf "%s\"%s\":%d", (NR > 1 ? "," : ""), $2, $1 } END { printf "}" }'
}
say "(a) audit replay of s3://$bucket/AWSLogs/ in one process"
replay=$("$bin/rotaudit" audit replay -config "$bin/config.json" -stats "s3://$bucket/AWSLogs/" 2>&1 >"$bin/replay.jsonl" | tail -1)
r_rps=$(field records_per_s <<<"$replay"); r_records=$(field records <<<"$replay")
printf '    %s records in %ss: %s records/s, %s findings, %s state writes, %s state reads\n' "$r_records" "$(field wall_s <<<"$replay")" "$r_rps" "$(field findings <<<"$replay")" "$(field state_writes <<<"$replay")" "$(field state_reads <<<"$replay")" >&2

echo "    new findings by rule: $(by_rule "$bin/replay.jsonl")" >&2

rows=""
for n in $workers; do
  say "(b) backfill -> SQS FIFO -> $n aws-lambda-rie worker(s)"
  out=$("$bin/backfillbench" -bucket "$bucket" -workers "$n" -rie "$rie" -bootstrap "$bin/bootstrap" -config "$bin/config.json")
  echo "    $out" >&2
  rows+="$out"$'\n'
done

order=""
if [ "$order_check" = 1 ]; then
  say "(c) order check: the same files filed as one stream (one FIFO message group), one worker"
  "$bin/backfillbench" -bucket "$bucket-1" -upload "$corpus" -streams 1 >&2
  order=$("$bin/backfillbench" -bucket "$bucket-1" -workers 1 -rie "$rie" -bootstrap "$bin/bootstrap" -config "$bin/config.json")
  echo "    $order" >&2
fi

# The Lambda's memory (modules/audit-alerts lambda_memory_mb) prices its duration.
mem_mb=$(sed -n '/variable "lambda_memory_mb"/,/^}/s/.*default *= *\([0-9]*\).*/\1/p' modules/audit-alerts/variables.tf)
{
  echo
  echo "backfill benchmark ($(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
  echo "  corpus                $files gzip files x $per_file records ($(du -sh "$corpus" | cut -f1)), mixed traffic, $streams streams (FIFO message groups)"
  echo "  (a) audit replay      $r_rps records/s in one process ($(field findings <<<"$replay") findings; state writes $(field state_writes <<<"$replay"), reads $(field state_reads <<<"$replay"))"
  while IFS= read -r row; do
    [ -n "$row" ] || continue
    awk -v row="$row" -v replay="$r_rps" -v mem="$mem_mb" -v writes="$(field state_writes <<<"$replay")" -v reads="$(field state_reads <<<"$replay")" '
      function f(k,   m) { if (match(row, "\"" k "\":[0-9.]+")) { m = substr(row, RSTART, RLENGTH); sub(/.*:/, "", m); return m + 0 } return 0 }
      BEGIN {
        rec = f("records"); files = f("files")
        sqs = f("send_calls") + f("receives") + f("delete_calls")
        printf "  (b) backfill, %d worker(s)  %.0f records/s = %.4f x replay; %d records, %d files, %d invocations, %d findings, %d returned to the queue\n", f("workers"), f("records_per_s"), f("records_per_s") / replay, rec, files, f("invocations"), f("findings"), f("failed")
        printf "        per 1M records: function duration %.1f s (%.1f GB-s at %d MB), function CPU %.1f s, invocations %.0f, SQS requests %.0f, S3 GETs %.0f, DynamoDB writes %.0f and reads %.0f (as replay counts them)\n", f("invoke_seconds") / rec * 1e6, f("invoke_seconds") / rec * 1e6 * mem / 1024, mem, f("function_cpu_s") / rec * 1e6, f("invocations") / rec * 1e6, sqs / rec * 1e6, files / rec * 1e6, writes / rec * 1e6, reads / rec * 1e6
      }'
  done <<<"$rows"
  echo "  new findings by rule: replay $(by_rule "$bin/replay.jsonl")"
  while IFS= read -r row; do
    [ -n "$row" ] || continue
    echo "                        $(field workers <<<"$row") worker(s) $(sed -n 's/.*"by_rule":\({[^}]*}\).*/\1/p' <<<"$row")"
  done <<<"$rows"
  if [ -n "$order" ]; then
    echo "  (c) one stream, 1 worker: $(printf '%.0f' "$(field records_per_s <<<"$order")") records/s, findings by rule $(sed -n 's/.*"by_rule":\({[^}]*}\).*/\1/p' <<<"$order") (replay's order: the same findings expected)"
  fi
  echo "  Workers share these $(nproc) cores with the emulator, which answers every DynamoDB read of every worker in one Python process: N workers cannot go N times as fast here."
}
