#!/usr/bin/env bash
# No password in the plan or the state: applies modules/secret-rotation/examples/basic to
# the local emulator with a known canary as the master password (an ephemeral input),
# then fails if the canary appears in the saved plan, its JSON, the state or the state's
# JSON, and also fails unless the canary did reach the admin secret (write-only arguments
# must still write). Destroys what it made. Needs the local stack's emulator (AWS_PORT);
# without it the check is skipped with a message.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/tf-lib.sh"
cd "$ROOT"

if ! port_in_use "$AWS_PORT"; then
  warn "no-password check skipped: no emulator on 127.0.0.1:$AWS_PORT (make up, or set AWS_PORT)"
  exit 0
fi
python3 -c 'import boto3' 2>/dev/null || die "the no-password check reads the secret back with boto3 (installed beside moto): pip install boto3"
tf_setup
dir=modules/secret-rotation/examples/basic
# The emulator never runs the functions: the modules' test stand-ins will do.
export TF_VAR_rotator_zip_path=$ROOT/modules/secret-rotation/tests/rotator.zip TF_VAR_bootstrap_zip_path=$ROOT/modules/secret-rotation/tests/dbbootstrap.zip
work=$(mktemp -d)
canary="canary$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export TF_DATA_DIR=$work/data AWS_ENDPOINT_URL=http://127.0.0.1:$AWS_PORT AWS_ACCESS_KEY_ID=test \
  AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-west-1 AWS_EC2_METADATA_DISABLED=true
export TF_VAR_admin_password=$canary TF_VAR_db_host=127.0.0.1 TF_VAR_subnet_ids='[]' TF_VAR_security_group_ids='[]' TF_VAR_invoke_bootstrap=false
state=$work/terraform.tfstate
tf() { "$TF" -chdir="$dir" "$@"; }
cleanup() {
  if [ -f "$state" ]; then
    tf destroy -auto-approve -no-color -input=false -state="$state" >"$work/destroy.log" 2>&1 ||
      { cat "$work/destroy.log" >&2; warn "destroy of $dir on the emulator failed"; }
  fi
  rm -rf "$work"
}
trap cleanup EXIT

start=$SECONDS
say "no password in plan or state: $dir on $AWS_ENDPOINT_URL with a canary master password"
tf init -backend=false -input=false -no-color >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; die "init of $dir failed"; }
tf plan -input=false -no-color -state="$state" -out="$work/tfplan" >"$work/plan.log" 2>&1 || { cat "$work/plan.log" >&2; die "plan of $dir failed"; }
tf show -json "$work/tfplan" >"$work/plan.json"
tf apply -input=false -no-color -state="$state" "$work/tfplan" >"$work/apply.log" 2>&1 || { cat "$work/apply.log" >&2; die "apply of $dir on the emulator failed"; }
tf show -json -state="$state" >"$work/state.json" 2>/dev/null || tf show -json "$state" >"$work/state.json"

leaks=()
for f in plan.log tfplan plan.json apply.log terraform.tfstate state.json; do
  # the saved plan is a zip: search its members too
  if [ "$f" = tfplan ]; then
    python3 - "$work/tfplan" "$canary" <<'PY' && leaks+=("$f") || true
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
sys.exit(0 if any(sys.argv[2].encode() in z.read(n) for n in z.namelist()) else 1)
PY
  elif grep -q "$canary" "$work/$f"; then
    leaks+=("$f")
  fi
done
[ "${#leaks[@]}" = 0 ] || die "the master password appears in: ${leaks[*]}"

# The write-only value must still have been written.
arn=$(python3 - "$work/state.json" <<'PY'
import json, sys
def walk(m):
    yield from m.get("resources", [])
    for c in m.get("child_modules", []):
        yield from walk(c)
doc = json.load(open(sys.argv[1]))
print(next(r["values"]["arn"] for r in walk(doc["values"]["root_module"])
           if r["type"] == "aws_secretsmanager_secret" and r["name"] == "admin"))
PY
)
python3 - "$arn" "$canary" <<'PY' || die "the admin secret does not hold the password given write-only"
import json, os, sys, boto3
sm = boto3.client("secretsmanager", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"])
v = json.loads(sm.get_secret_value(SecretId=sys.argv[1], VersionStage="AWSCURRENT")["SecretString"])
sys.exit(0 if v.get("password") == sys.argv[2] else 1)
PY
say "no password in plan or state: canary absent from plan, plan JSON, apply log and state; present in the secret ($((SECONDS - start))s)"
