#!/usr/bin/env bash
# make aws-check: what AWS would refuse and the emulators let through, checked offline
# (internal/awscheck). Applies every environment's root (local, dev, stage, prod) with its
# own terraform.tfvars to a fresh moto server of its own, reads the concrete policies back
# from `terraform show -json`, and evaluates every AWS call the code makes against them with
# @cloud-copilot/iam-simulate (internal/awscheck/evaluator). The organization modules
# (org-central, org-member), which no environment deploys, are applied the same way from
# internal/awscheck/tf/org, across three accounts of one moto server. Nothing is kept between runs
# except node_modules, which is keyed on the evaluator's package-lock.json.
#
#   scripts/aws-check.sh            apply, check, prove that the check bites (mutations)
#   AWSCHECK_UPDATE=1 ...           rewrite the access matrix in docs/aws-access.md
#   AWSCHECK_KEEP=DIR ...           also leave the applied states in DIR (for debugging)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/tf-lib.sh"
cd "$ROOT"

t0=$SECONDS
command -v node >/dev/null || die "aws-check needs Node.js >= 20 (the IAM evaluator is an npm package)"
command -v npm >/dev/null || die "aws-check needs npm (npm ci installs the IAM evaluator)"
tf_setup

# The evaluator: npm ci into internal/awscheck/evaluator/node_modules (git-ignored), again
# whenever package-lock.json changes.
ev=$ROOT/internal/awscheck/evaluator
stamp=$ev/node_modules/.lock-sha256
want=$(sha256sum "$ev/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  say "installing the IAM evaluator (npm ci, @cloud-copilot/iam-simulate pinned in package-lock.json)"
  (cd "$ev" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$stamp"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/rotaudit-aws-check.XXXXXX")
pids=()
cleanup() {
  local p f
  # The applies still running (after a failure or ^C), and their terraform processes.
  for p in "${pids[@]}"; do pkill -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  for f in "$work"/*.moto-pid; do
    [ -f "$f" ] && { kill "$(cat "$f")" 2>/dev/null || true; }
  done
  rm -rf "$work"
}
trap cleanup EXIT

# The roots find the modules at ../../modules: the copies keep that layout. A copy, not a
# link: the deployment module gets aws-check's own overrides (internal/awscheck/tf/module).
cp -R "$ROOT/modules" "$work/modules"
rm -rf "$work"/modules/*/.terraform "$work"/modules/*/examples
cp "$ROOT"/internal/awscheck/tf/module/*.tf "$work/modules/rotaudit/"
mkdir -p "$work/envs" "$work/states" "$work/dist"
cp "$ROOT"/envs/common/tests/dist/*.zip "$work/dist/" # stand-ins: the code's content is not checked here
moto=$(moto_cmd)

# start_moto ENV: a fresh moto server for one environment (one each: nothing shared, and four
# processes use both cores); prints its URL.
start_moto() {
  local env=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$moto" -H 127.0.0.1 -p "$port" >"$work/$env.moto.log" 2>&1 </dev/null &
  echo $! >"$work/$env.moto-pid"
  wait_until 60 "moto server on $port" curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/" ||
    { tail -20 "$work/$env.moto.log" >&2; return 1; }
  echo "http://127.0.0.1:$port"
}

# emu SERVICE REGION CURL-ARGS...: one request to the emulator (curl: an aws CLI start costs
# seconds on a busy machine). moto routes by the signature's scope and checks no signature.
emu() {
  local svc=$1 region=$2
  shift 2
  curl -fsS -X POST "$endpoint/" -H "Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/$region/$svc/aws4_request, SignedHeaders=host, Signature=0" "$@"
}
json=(-H 'Content-Type: application/x-amz-json-1.1')

# fixtures ENV: what the root expects to find. envs/local reads the stack's master secret (a
# stand-in here). Stand-in people, so that the check and the matrix cover what the roots give
# them: an operator and a break-glass user (the groups' members, by the roots' user ARN
# variables; the users must exist for the memberships), and in envs/local an application
# role with rotate access. stage and prod serve HTTPS: their listener needs a certificate
# the emulator knows (it refuses an unknown ARN, and the provider retries for minutes).
fixtures() {
  local u
  if [ "$1" = local ]; then
    emu secretsmanager us-east-1 "${json[@]}" -H 'X-Amz-Target: secretsmanager.CreateSecret' \
      -d '{"Name":"rotaudit/local/admin","SecretString":"{\"engine\":\"postgres\",\"host\":\"127.0.0.1\",\"port\":15432,\"username\":\"rotaudit_admin\",\"password\":\"stand-in\",\"dbname\":\"rates\"}"}' >/dev/null
    # The master of the stack's second cluster (envs/local's extra database pg2).
    emu secretsmanager us-east-1 "${json[@]}" -H 'X-Amz-Target: secretsmanager.CreateSecret' \
      -d '{"Name":"rotaudit/local/pg2/admin","SecretString":"{\"engine\":\"postgres\",\"host\":\"127.0.0.1\",\"port\":15442,\"username\":\"rotaudit_admin\",\"password\":\"stand-in\",\"dbname\":\"rates\"}"}' >/dev/null
    return
  fi
  account=$(emu sts us-east-1 -d 'Action=GetCallerIdentity&Version=2011-06-15' | sed -n 's:.*<Account>\([0-9]*\)</Account>.*:\1:p')
  [ -n "$account" ] || return 1
  for u in awscheck-operator awscheck-break-glass; do
    emu iam us-east-1 -d "Action=CreateUser&UserName=$u&Version=2010-05-08" >/dev/null
  done
  cert=$(emu acm eu-west-1 "${json[@]}" -H 'X-Amz-Target: CertificateManager.RequestCertificate' \
    -d '{"DomainName":"api.rotaudit.example"}' | sed -n 's/.*"CertificateArn": *"\([^"]*\)".*/\1/p')
  [ -n "$cert" ] || return 1
}

# apply ENV: one root, its state as JSON in $work/states/ENV.json, its log in $work/ENV.log.
apply() {
  local env=$1 dir=$work/envs/$1 s
  mkdir -p "$dir"
  local endpoint account cert
  endpoint=$(start_moto "$env") || { echo "moto did not start" >"$work/$env.failed"; return 1; }
  [ "$env" = org ] || fixtures "$env" >"$work/$env.log" 2>&1 || { cat "$work/$env.log" >&2; echo "fixtures" >"$work/$env.failed"; return 1; }
  local args=(-var "dist_dir=../../dist") tfenv=()
  if [ "$env" = org ]; then
    # The provider pinned as the environments pin it; the emulator and its credentials from
    # the environment (the root has three providers, one per account).
    cp "$ROOT"/internal/awscheck/tf/org/*.tf "$ROOT/envs/dev/.terraform.lock.hcl" "$dir/"
    args=(-var "auditor_zip=../../dist/auditor.zip")
    tfenv=(AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true)
  elif [ "$env" = local ]; then
    cp "$ROOT"/envs/local/*.tf "$ROOT"/envs/local/terraform.tfvars "$dir/"
    args+=(-var "endpoint=$endpoint")
    args+=(-var 'application_roles={reporting={service="ecs-tasks.amazonaws.com",access="read"},awscheck-operator={service="ecs-tasks.amazonaws.com",access="rotate"}}')
  else
    cp "$ROOT"/envs/common/*.tf "$ROOT/envs/$env/terraform.tfvars" "$ROOT/envs/$env/.terraform.lock.hcl" "$dir/"
    cp "$ROOT"/internal/awscheck/tf/*.tf "$dir/"
    # Skipped: the bootstrap's invocation (Lambda execution needs Docker; it holds no
    # policy), the API's auto scaling (moto 5.2.1 lacks its ListTagsForResource) and the
    # RDS instance (internal/awscheck/tf/awscheck_override.tf says why): every other
    # resource of the root is applied.
    args+=(-var "awscheck_endpoint=$endpoint" -var invoke_bootstrap=false)
    args+=(-var "certificate_arn=$cert")
    if grep -q 'variable "db_operator_user_arns"' "$dir/variables.tf"; then
      args+=(-var "db_operator_user_arns=[\"arn:aws:iam::$account:user/awscheck-operator\"]")
      args+=(-var "break_glass_user_arns=[\"arn:aws:iam::$account:user/awscheck-break-glass\"]")
    fi
    for s in network ecr 'database["rates"].aws_db_subnet_group.this' 'database["rates"].module.key' \
      'database["rates"].aws_db_parameter_group.this' secret_rotation rotator db_access_iam \
      audit_trail audit_alerts 'api[0].module.roles' 'api[0].aws_ecs_service.this'; do
      args+=("-target=module.rotaudit.module.$s")
    done
    # The shared rotators' invoke permissions and each database's rotation (modules/rotaudit).
    for s in aws_lambda_permission.rotator aws_secretsmanager_secret_rotation.app aws_secretsmanager_secret_rotation.admin; do
      args+=("-target=module.rotaudit.$s")
    done
  fi
  local s0=$SECONDS
  if ! { env "${tfenv[@]}" "$TF" -chdir="$dir" init -input=false -no-color &&
    env "${tfenv[@]}" "$TF" -chdir="$dir" apply -auto-approve -input=false -no-color "${args[@]}" &&
    env "${tfenv[@]}" "$TF" -chdir="$dir" show -json -no-color >"$work/states/$env.json"; } >>"$work/$env.log" 2>&1; then
    grep -A12 '^Error' "$work/$env.log" >&2 || tail -30 "$work/$env.log" >&2
    echo "apply of $env failed" >"$work/$env.failed"
    return 1
  fi
  say "$env applied in $((SECONDS - s0)) s (moto at $endpoint)"
  kill "$(cat "$work/$env.moto-pid")" 2>/dev/null || true
}

# All four at once: most of an apply is the provider waiting on its own waiters (S3
# lifecycle, SQS attributes), not CPU.
say "applying local, dev, stage, prod and org, each to a fresh moto server of its own"
for env in local dev stage prod org; do
  apply "$env" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
ls "$work"/*.failed >/dev/null 2>&1 && die "aws-check: an environment did not apply to the emulator (above)"
say "applied in $((SECONDS - t0)) s; evaluating"
if [ -n "${AWSCHECK_KEEP:-}" ]; then mkdir -p "$AWSCHECK_KEEP" && cp "$work"/states/*.json "$AWSCHECK_KEEP/"; fi

# TestAWSCheck: every call allowed and reachable, the rules, the matrix in the docs;
# TestAWSCheckBites: each mutation fails the check, naming caller, call, resource.
update=()
[ "${AWSCHECK_UPDATE:-0}" = 1 ] && update=(-args -update)
set +e
AWSCHECK_STATES=$work/states AWSCHECK_EVALUATOR=$ev go test -count=1 -timeout 10m -v \
  -run '^Test(AWSCheck|EvaluatorConditions|InventoryMatchesCode)' ./internal/awscheck "${update[@]}" 2>&1 |
  grep -v -e '^=== RUN' -e '^=== PAUSE' -e '^=== CONT'
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 0 ] || die "aws-check failed after $((SECONDS - t0)) s: the findings above are what AWS would refuse"
say "aws-check passed in $((SECONDS - t0)) s"
