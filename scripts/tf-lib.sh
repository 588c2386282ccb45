# shellcheck shell=bash
# Terraform helpers shared by scripts/tf-*.sh. Source it after lib.sh; it defines functions
# only.
#
# tf_setup finds terraform (or tofu) and a filesystem mirror of the hashicorp/aws provider,
# writes a CLI configuration that installs the provider from that mirror (and everything
# else from the registry), and exports TF_CLI_CONFIG_FILE and TF. Nothing machine-specific
# is committed: the mirror is found at run time, under TF_PROVIDER_MIRROR when set, else
# anywhere on the machine (`find /`), and the CLI configuration is written outside the clone.

# tf_find_mirror prints the folder that holds registry.terraform.io/hashicorp/aws/..., or
# nothing when there is none.
tf_find_mirror() {
  local found dir
  if [ -n "${TF_PROVIDER_MIRROR:-}" ]; then
    [ -d "$TF_PROVIDER_MIRROR/registry.terraform.io/hashicorp/aws" ] ||
      die "TF_PROVIDER_MIRROR=$TF_PROVIDER_MIRROR holds no registry.terraform.io/hashicorp/aws"
    echo "$TF_PROVIDER_MIRROR"
    return
  fi
  # Layout: <mirror>/registry.terraform.io/hashicorp/aws/<version>/<os_arch>/terraform-provider-aws_*
  # (unpacked) or <mirror>/registry.terraform.io/hashicorp/aws/terraform-provider-aws_*.zip (packed).
  found=$(find / \( -path /proc -o -path /sys -o -path /dev -o -path '*/.terraform' \) -prune -o \
    -name 'terraform-provider-aws*' -path '*/registry.terraform.io/hashicorp/aws/*' -print 2>/dev/null | head -1 || true)
  [ -n "$found" ] || return 0
  dir=${found%%/registry.terraform.io/hashicorp/aws/*}
  echo "$dir"
}

# tf_setup: exports TF (the binary) and TF_CLI_CONFIG_FILE (a generated CLI config).
tf_setup() {
  TF=$(command -v terraform || command -v tofu || true)
  [ -n "$TF" ] || die "terraform (>= 1.11) or tofu is not on PATH"
  export TF
  local tools=${ROTAUDIT_TOOLS:-$HOME/.cache/rotaudit/tools} mirror cfg
  mkdir -p "$tools"
  cfg=$tools/terraform-cli.tfrc
  # A mirror found before is reused while it is still there (find / takes seconds).
  mirror=
  if [ -z "${TF_PROVIDER_MIRROR:-}" ] && [ -f "$cfg" ]; then
    mirror=$(sed -n 's/^ *path *= *"\(.*\)"$/\1/p' "$cfg" | head -1)
    [ -n "$mirror" ] && [ -d "$mirror/registry.terraform.io/hashicorp/aws" ] || mirror=
  fi
  [ -n "$mirror" ] || mirror=$(tf_find_mirror)
  if [ -n "$mirror" ]; then
    cat >"$cfg.tmp" <<CFG
# Written by scripts/tf-lib.sh: hashicorp/aws from the filesystem mirror found on this
# machine, any other provider from its registry.
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }
}
CFG
    TF_MIRROR=$mirror
  else
    warn "no filesystem mirror of hashicorp/aws found: terraform init downloads it from registry.terraform.io"
    mkdir -p "$tools/terraform-plugins"
    cat >"$cfg.tmp" <<CFG
# Written by scripts/tf-lib.sh: no provider mirror on this machine; providers come from the
# registry through a shared plugin cache.
plugin_cache_dir = "$tools/terraform-plugins"
CFG
    TF_MIRROR=
  fi
  mv "$cfg.tmp" "$cfg"
  export TF_CLI_CONFIG_FILE=$cfg TF_MIRROR
  # Roots share nothing else: no input prompts, no colour in logs.
  export TF_INPUT=0 TF_IN_AUTOMATION=1
}

# tf_ensure_zips: the roots hash the Lambda zips at plan time (filebase64sha256).
tf_ensure_zips() {
  local missing=0 f
  for f in "$@"; do [ -f "$ROOT/dist/$f.zip" ] || missing=1; done
  if [ "$missing" = 1 ]; then
    say "dist/ lacks some of $* (.zip): building them (scripts/package.sh)"
    "$ROOT/scripts/package.sh"
  fi
  for f in "$@"; do
    [ -f "$ROOT/dist/$f.zip" ] || die "dist/$f.zip is missing after scripts/package.sh (is functions/$f there?)"
  done
}
