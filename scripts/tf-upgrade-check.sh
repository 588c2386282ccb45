#!/usr/bin/env bash
# scripts/tf-upgrade-check.sh OLD [ENV]: would an existing deployment survive the upgrade
# from commit OLD to this checkout? Applies ENV (default dev) as OLD had it to a fresh moto
# server (aws-check's way: its overrides, its -target list), plans it again with OLD's code
# (the emulator's own drift), then plans the same state with this checkout's code. It fails
# when the upgrade plans a destroy or a replacement, or plans anything OLD's code over its
# own state would not; moves are what `moved` blocks are for, and are counted.
#
#   scripts/tf-upgrade-check.sh 0019dbc        # the layout before modules/rotaudit
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/tf-lib.sh
source "$ROOT/scripts/tf-lib.sh"
cd "$ROOT"
old=${1:?usage: scripts/tf-upgrade-check.sh OLD-COMMIT [dev|stage|prod]}
env=${2:-dev}
[ "$env" = dev ] || [ "$env" = stage ] || [ "$env" = prod ] || die "ENV must be dev, stage or prod, got '$env'"
git rev-parse -q --verify "$old^{commit}" >/dev/null || die "$old is not a commit of this repository"
tf_setup

work=$(mktemp -d "${TMPDIR:-/tmp}/rotaudit-tf-upgrade.XXXXXX")
moto_pid=
cleanup() {
  [ -z "$moto_pid" ] || kill "$moto_pid" 2>/dev/null || true
  git worktree remove --force "$work/old" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
git worktree add -q --detach "$work/old" "$old"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$(moto_cmd)" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 </dev/null &
moto_pid=$!
wait_until 60 "moto server on $port" curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/"

# root TREE: the root of ENV as TREE has it, over the one state in $work/w/envs/ENV.
root() {
  local tree=$1 dir=$work/w/envs/$env
  rm -rf "$work/w/modules" "$dir"/*.tf "$dir/.terraform"
  mkdir -p "$dir" "$work/w/dist"
  cp "$tree"/envs/common/tests/dist/*.zip "$work/w/dist/"
  cp -R "$tree/modules" "$work/w/modules"
  rm -rf "$work"/w/modules/*/.terraform "$work"/w/modules/*/examples
  if [ -d "$tree/internal/awscheck/tf/module" ]; then
    cp "$tree"/internal/awscheck/tf/module/*.tf "$work/w/modules/rotaudit/"
  fi
  cp "$tree"/envs/common/*.tf "$tree/envs/$env/terraform.tfvars" "$tree/envs/$env/.terraform.lock.hcl" "$tree"/internal/awscheck/tf/*.tf "$dir/"
  $TF -chdir="$dir" init -input=false -no-color >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; die "init failed"; }
}
args=(-var dist_dir=../../dist -var "awscheck_endpoint=http://127.0.0.1:$port" -var invoke_bootstrap=false)
dir=$work/w/envs/$env

say "applying $env as $old has it to a fresh moto on $port"
root "$work/old"
# OLD's own aws-check target list, so the apply skips what moto cannot do.
targets=$(sed -n '/for s in module\.network\|for s in network/,/; do/p' "$work/old/scripts/aws-check.sh" | tr -d '\\\n' | sed 's/.*for s in //; s/; do.*//')
# shellcheck disable=SC2016 # the literal text of the newer script
prefix=$(grep -q 'target=module.rotaudit.module.$s' "$work/old/scripts/aws-check.sh" && echo module.rotaudit.module. || echo)
t=()
for s in $targets; do t+=("-target=$prefix${s//\'/}"); done
$TF -chdir="$dir" apply -auto-approve -input=false -no-color "${args[@]}" "${t[@]}" >"$work/apply.log" 2>&1 ||
  { tail -30 "$work/apply.log" >&2; die "the apply of $old failed"; }
$TF -chdir="$dir" plan -input=false -no-color "${args[@]}" >"$work/plan-old.log" 2>&1 || { tail -30 "$work/plan-old.log" >&2; die "plan of $old failed"; }

say "planning the same state with this checkout"
root "$ROOT"
$TF -chdir="$dir" plan -input=false -no-color "${args[@]}" >"$work/plan-new.log" 2>&1 || { tail -30 "$work/plan-new.log" >&2; die "plan of this checkout failed"; }

summary() { grep -E '^Plan:|^No changes' "$1" || echo "(no plan line)"; }
printf '  %s over its own state:  %s\n' "$old" "$(summary "$work/plan-old.log")"
printf '  this checkout, same state: %s, %s moved\n' "$(summary "$work/plan-new.log")" "$(grep -c 'has moved to' "$work/plan-new.log" || true)"
if grep -E 'must be replaced|will be destroyed' "$work/plan-new.log" >&2; then
  die "the upgrade destroys or replaces the resources above"
fi
if [ "$(summary "$work/plan-old.log")" != "$(summary "$work/plan-new.log")" ]; then
  die "the upgrade plans other changes than $old's code does over its own state (see the lines above)"
fi
say "upgrade from $old: moves only"
