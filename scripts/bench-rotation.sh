#!/usr/bin/env bash
# make bench-rotation: full rotation wall time against its floor (the same Secrets
# Manager calls and database logins back to back, no logic) in the same run, and the
# rotator bootstrap's cold start and peak RSS under aws-lambda-rie. About a minute.
# ROTAUDIT_BENCH_RUNS sets the warm rotations per strategy (default 15),
# ROTAUDIT_BENCH_COLD_RUNS the cold starts per strategy (default 10).
#
# AWS_ROTATION_LAMBDAS=/path/to/aws-secrets-manager-rotation-lambdas adds AWS's
# PostgreSQL single-user and multi-user functions from that checkout, run against the same
# PostgreSQL and emulator in the same rounds, and prints ours / AWS against the goals.
# Their python3 needs boto3 and pygresql (Debian: python3-boto3 python3-pygresql); the
# script makes a virtualenv over it in the tools folder with awslambdaric, AWS's Python
# runtime interface client, so their cold start runs under aws-lambda-rie as ours does.
# AWS_ROTATION_PYTHON picks that interpreter yourself.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

AWSLAMBDARIC_VERSION=4.2.2
TOOLS=${ROTAUDIT_TOOLS:-$HOME/.cache/rotaudit/tools}

# aws_python prints a python3 that imports boto3 and pgdb, with awslambdaric when it can
# be installed; it dies saying what to install when there is none.
aws_python() {
  if [ -n "${AWS_ROTATION_PYTHON:-}" ]; then
    echo "$AWS_ROTATION_PYTHON"
    return
  fi
  local py venv=$TOOLS/lambdaric-venv
  for py in python3 /usr/bin/python3; do
    if "$py" -c 'import boto3, pgdb' 2>/dev/null; then break; fi
    py=
  done
  [ -n "$py" ] || die "no python3 imports boto3 and pgdb, which AWS's functions need: apt-get install python3-boto3 python3-pygresql (or pip install boto3 PyGreSQL), or set AWS_ROTATION_PYTHON"
  if ! "$venv/bin/python3" -c 'import awslambdaric, boto3, pgdb' 2>/dev/null; then
    say "installing awslambdaric $AWSLAMBDARIC_VERSION into $venv (over $py's packages)"
    if ! { "$py" -m venv --system-site-packages "$venv" >&2 &&
      "$venv/bin/pip" install -q "awslambdaric==$AWSLAMBDARIC_VERSION" >&2; }; then
      warn "awslambdaric could not be installed: AWS's cold start is then a fresh python3 process, not under the emulator"
      echo "$py"
      return
    fi
  fi
  echo "$venv/bin/python3"
}

say "local stack (started if needed)"
scripts/stack.sh up >&2
eval "$(scripts/stack.sh env)"
say "aws-lambda-rie"
scripts/install-rie.sh >/dev/null
if [ -n "${AWS_ROTATION_LAMBDAS:-}" ]; then
  AWS_ROTATION_LAMBDAS=$(cd "$AWS_ROTATION_LAMBDAS" && pwd)
  AWS_ROTATION_PYTHON=$(aws_python)
  export AWS_ROTATION_LAMBDAS AWS_ROTATION_PYTHON
  say "AWS's functions from $AWS_ROTATION_LAMBDAS with $AWS_ROTATION_PYTHON"
fi
say "benchmarking rotation (goals: rotation <= 1.3x floor; cold start < 50 ms; RSS < 30 MiB; against AWS's: warm <= 0.5x, cold <= 0.1x, RSS <= 0.35x)"
ROTAUDIT_BENCH=1 go test -count=1 -timeout 30m -v -run '^TestRotationBenchmark$' ./functions/rotator |
  grep -v -e '^=== RUN' -e '^--- PASS' -e '^PASS$' -e '^ok ' -e 'WARN failed to discard'
