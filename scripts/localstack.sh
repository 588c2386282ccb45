# shellcheck shell=bash
# LocalStack 4.14.0 in host mode, without Docker, for `scripts/stack.sh --emulator localstack`.
# Sourced by scripts/stack.sh after lib.sh; it defines functions only.
#
# LocalStack runs from a virtualenv in the user's cache folder, installed once with the
# release's own runtime pins (localstack/constraints-4.14.0.txt). Offline it serves Secrets
# Manager, KMS, STS, IAM, SNS, SQS, EventBridge, S3 and CloudWatch Logs; DynamoDB is served by a
# second moto server (LocalStack would download DynamoDB Local at run time). Lambda runs
# through rotaudit's own executor plugin (localstack/rotaudit_lambda_executor), installed into
# the same virtualenv: each function's bootstrap runs as a host process behind aws-lambda-rie,
# so Secrets Manager, EventBridge, S3 and CloudWatch Logs can invoke the functions without
# Docker.

LOCALSTACK_VERSION=4.14.0
LS_CONSTRAINTS=$ROOT/localstack/constraints-$LOCALSTACK_VERSION.txt
LS_VENV=${LOCALSTACK_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/rotaudit/localstack-$LOCALSTACK_VERSION}
LS_DIR=$STATE_DIR/localstack
LS_LOG=$STATE_DIR/localstack.log
LS_PID=$STATE_DIR/localstack.pid
DDB_LOG=$STATE_DIR/moto-dynamodb.log
DDB_PID=$STATE_DIR/moto-dynamodb.pid
# The services the project uses, and only those: anything else answers "not enabled" at once
# instead of half-working.
LS_SERVICES=secretsmanager,kms,sts,iam,sns,sqs,events,s3,logs,lambda,ec2
# The Lambda executor plugin: its source, and the name LAMBDA_RUNTIME_EXECUTOR selects.
LS_EXECUTOR_SRC=$ROOT/localstack/rotaudit_lambda_executor
LS_EXECUTOR=rotaudit-host

# LocalStack 4.14.0 declares Python >= 3.10, but its own code imports warnings.deprecated,
# new in 3.13: on 3.12 it starts and then answers 500 for SQS, Lambda and others (and on 3.11
# most services). Its pins were compiled with 3.13.
LS_PY_MIN=3.13
ls_py_ok() {
  "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 13))' >/dev/null 2>&1
}

# ls_python prints a Python >= $LS_PY_MIN: LOCALSTACK_PYTHON, else python3.13 or python3.14 on
# PATH, else pyenv's installed versions.
ls_python() {
  local c
  local -a candidates=()
  if [ -n "${LOCALSTACK_PYTHON:-}" ]; then
    candidates=("$LOCALSTACK_PYTHON")
  else
    candidates=(python3.13 python3.14)
    mapfile -t -O 2 candidates < <(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[3-9]*/bin/python3 2>/dev/null | sort -V)
  fi
  for c in "${candidates[@]}"; do
    command -v "$c" >/dev/null 2>&1 || continue
    if ls_py_ok "$c"; then
      command -v "$c"
      return
    fi
  done
  return 1
}

# ls_installed: the cache holds this release, installed with the current constraints on a
# Python that can run it.
ls_installed() {
  [ -x "$LS_VENV/bin/python" ] && ls_py_ok "$LS_VENV/bin/python" &&
    [ "$(cat "$LS_VENV/.rotaudit-installed" 2>/dev/null)" = "$(sha256sum <"$LS_CONSTRAINTS")" ]
}

# ls_install installs LocalStack into the cache once; a lock keeps two stacks from doing it
# at the same time, and a failed install leaves no half-filled cache behind.
ls_install() {
  [ -r "$LS_CONSTRAINTS" ] || die "$LS_CONSTRAINTS is missing: it pins LocalStack's dependencies"
  ls_installed && return
  mkdir -p "$(dirname "$LS_VENV")"
  exec 8>"$LS_VENV.lock"
  flock 8
  if ! ls_installed; then
    local py start=$SECONDS
    py=$(ls_python) || die "LocalStack $LOCALSTACK_VERSION needs Python $LS_PY_MIN or newer and none was found (looked at LOCALSTACK_PYTHON, python3.13 and python3.14 on PATH, ${PYENV_ROOT:-$HOME/.pyenv}/versions/3.13+). Install one (e.g. pyenv install 3.13) or set LOCALSTACK_PYTHON=/path/to/python3.13"
    say "installing LocalStack $LOCALSTACK_VERSION into $LS_VENV with $py ($("$py" --version 2>&1)): done once per machine, takes about two minutes and 500 MB"
    rm -rf "$LS_VENV"
    "$py" -m venv "$LS_VENV" || { rm -rf "$LS_VENV"; die "$py -m venv failed"; }
    if ! "$LS_VENV/bin/pip" install --disable-pip-version-check --quiet -c "$LS_CONSTRAINTS" \
      "localstack-core[runtime]==$LOCALSTACK_VERSION"; then
      rm -rf "$LS_VENV"
      die "pip could not install localstack-core[runtime]==$LOCALSTACK_VERSION (output above); the cache $LS_VENV was removed"
    fi
    sha256sum <"$LS_CONSTRAINTS" >"$LS_VENV/.rotaudit-installed"
    say "LocalStack $LOCALSTACK_VERSION installed in $((SECONDS - start)) s ($(du -sh "$LS_VENV" | cut -f1))"
  fi
  flock -u 8
  exec 8>&-
}

# ls_executor_stamp: what the installed executor was built from (its source files' hashes).
ls_executor_stamp() {
  (cd "$LS_EXECUTOR_SRC" && find . -name '*.py' -o -name pyproject.toml | LC_ALL=C sort | xargs sha256sum | sha256sum)
}

# ls_executor_install installs the executor plugin into LocalStack's virtualenv when its
# source changed, and only against the release it is written for: the executor interface is
# internal to LocalStack and changes between releases. Offline: no dependencies, no build
# isolation (setuptools comes with localstack-core's pins).
ls_executor_install() {
  local have stamp
  have=$("$LS_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("localstack-core"))' 2>/dev/null) ||
    die "cannot read the LocalStack version in $LS_VENV"
  [ "$have" = "$LOCALSTACK_VERSION" ] ||
    die "the rotaudit Lambda executor is written for LocalStack $LOCALSTACK_VERSION and $LS_VENV holds $have: remove $LS_VENV and run this again"
  stamp=$(ls_executor_stamp)
  [ "$(cat "$LS_VENV/.rotaudit-executor" 2>/dev/null)" = "$stamp" ] && return
  say "installing the rotaudit Lambda executor ($LS_EXECUTOR) into $LS_VENV"
  local tmp
  tmp=$(mktemp -d)
  cp -r "$LS_EXECUTOR_SRC/." "$tmp/"
  if ! "$LS_VENV/bin/pip" install --disable-pip-version-check --quiet --no-deps --no-index \
    --no-build-isolation --force-reinstall "$tmp" >"$tmp.log" 2>&1; then
    cat "$tmp.log" >&2
    rm -rf "$tmp" "$tmp.log"
    die "pip could not install $LS_EXECUTOR_SRC into $LS_VENV (output above)"
  fi
  rm -rf "$tmp" "$tmp.log"
  echo "$stamp" >"$LS_VENV/.rotaudit-executor"
}

ls_ready() {
  curl -fsS "http://127.0.0.1:$AWS_PORT/_localstack/health" 2>/dev/null | grep -q '"secretsmanager"'
}

localstack_up() {
  if ls_ready; then
    say "LocalStack already answering on 127.0.0.1:$AWS_PORT"
    return
  fi
  port_in_use "$AWS_PORT" && die "port $AWS_PORT is taken by a program that is not LocalStack; stop it or set LOCALSTACK_PORT"
  ls_install
  ls_executor_install
  local rie
  rie=$("$ROOT/scripts/install-rie.sh") || die "aws-lambda-rie is needed to run Lambda functions (scripts/install-rie.sh failed)"
  mkdir -p "$LS_DIR/fs" "$LS_DIR/config"
  say "starting LocalStack $LOCALSTACK_VERSION (host mode, no Docker) on 127.0.0.1:$AWS_PORT; its state is in $LS_DIR"
  # OVERRIDE_IN_DOCKER=0: these machines look like containers to it, and it would then write
  # under /var/lib and /tmp. DNS_ADDRESS=0: no DNS server on port 53. The proxy on port 9 (the
  # discard port, closed) makes every download and telemetry call fail at once, so runs are
  # offline and the same everywhere; loopback calls bypass it.
  (
    cd "$LS_DIR"
    export OVERRIDE_IN_DOCKER=0 GATEWAY_SERVER=hypercorn GATEWAY_LISTEN="127.0.0.1:$AWS_PORT" \
      LOCALSTACK_HOST="127.0.0.1:$AWS_PORT" SERVICES="$LS_SERVICES" DNS_ADDRESS=0 \
      DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1 SQS_ENDPOINT_STRATEGY=off \
      LAMBDA_RUNTIME_EXECUTOR="$LS_EXECUTOR" ROTAUDIT_LAMBDA_RIE="$rie" \
      ROTAUDIT_LAMBDA_ENV="AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DYNAMODB_PORT,AWS_ENDPOINT_URL_RDS=http://127.0.0.1:$DYNAMODB_PORT" \
      FILESYSTEM_ROOT="$LS_DIR/fs" CONFIG_DIR="$LS_DIR/config" \
      HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
      OUTBOUND_HTTP_PROXY=http://127.0.0.1:9 OUTBOUND_HTTPS_PROXY=http://127.0.0.1:9 \
      NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
    nohup "$LS_VENV/bin/python" -m localstack.runtime.main >"$LS_LOG" 2>&1 </dev/null &
    echo $! >"$LS_PID"
  )
  local start=$SECONDS
  if ! wait_until 90 "LocalStack" ls_ready; then
    tail -30 "$LS_LOG" >&2 || true
    die "LocalStack did not answer on 127.0.0.1:$AWS_PORT (log above: $LS_LOG)"
  fi
  say "LocalStack healthy after $((SECONDS - start)) s"
}

ddb_ready() {
  curl -fsS -o /dev/null "http://127.0.0.1:$DYNAMODB_PORT/moto-api/" 2>/dev/null
}

dynamodb_up() {
  if ddb_ready; then
    say "moto (DynamoDB) already answering on 127.0.0.1:$DYNAMODB_PORT"
    return
  fi
  port_in_use "$DYNAMODB_PORT" && die "port $DYNAMODB_PORT is taken by a program that is not moto; stop it or set LOCALSTACK_DYNAMODB_PORT"
  local cmd
  cmd=$(moto_cmd)
  say "starting moto server for DynamoDB ($cmd) on 127.0.0.1:$DYNAMODB_PORT"
  nohup "$cmd" -H 127.0.0.1 -p "$DYNAMODB_PORT" >"$DDB_LOG" 2>&1 </dev/null &
  echo $! >"$DDB_PID"
  if ! wait_until 60 "moto server (DynamoDB)" ddb_ready; then
    tail -20 "$DDB_LOG" >&2 || true
    die "moto server did not answer on 127.0.0.1:$DYNAMODB_PORT (log above: $DDB_LOG)"
  fi
}

localstack_down() {
  stop_pidfile "LocalStack" "$LS_PID"
  stop_pidfile "moto server (DynamoDB)" "$DDB_PID"
}
