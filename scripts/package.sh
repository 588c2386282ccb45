#!/usr/bin/env bash
# make package: builds each Lambda under functions/ as a linux/arm64 `bootstrap` and zips it
# reproducibly into dist/<name>.zip (the path the Terraform roots read).
#
#   scripts/package.sh            build dist/rotator.zip, dist/auditor.zip and dist/dbbootstrap.zip
#   scripts/package.sh --verify   build every zip twice, in two temporary folders with a
#                                 different umask and time zone, and fail unless the two
#                                 builds are byte-identical
#
#   PACKAGE_GOARCH=amd64 PACKAGE_DIR=dist/host scripts/package.sh
#                                 the same zips for another CPU into another folder: the
#                                 LocalStack deployment test runs the bootstraps as processes
#                                 on this machine, which cannot execute arm64 code on x86_64
#
# Reproducible means: same source and same Go toolchain give the same bytes. The binary is
# built with -trimpath and an empty build id; the zip has one entry with a fixed time
# (1980-01-01), fixed permissions (0755), a fixed compression level and no extra fields.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

FUNCTIONS=(rotator auditor dbbootstrap)
GOARCH_OUT=${PACKAGE_GOARCH:-arm64}
case $GOARCH_OUT in arm64 | amd64) ;; *) die "PACKAGE_GOARCH=$GOARCH_OUT: want arm64 (what Lambda runs) or amd64" ;; esac
DIST=${PACKAGE_DIR:-$ROOT/dist}

# build_zip NAME OUT_DIR: builds functions/NAME into OUT_DIR/NAME.zip; returns 3 when the
# function does not exist yet.
build_zip() {
  local name=$1 out=$2 tmp
  if [ ! -f "functions/$name/main.go" ]; then
    warn "functions/$name/main.go does not exist yet: skipping $name.zip"
    return 3
  fi
  tmp=$(mktemp -d)
  # Build flags fixed here, not inherited: GOFLAGS could add -race or -cover.
  GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOOS=linux GOARCH=$GOARCH_OUT \
    go build -trimpath -tags lambda.norpc -ldflags "-s -w -buildid=" \
    -o "$tmp/bootstrap" "./functions/$name" || { rm -rf "$tmp"; return 1; }
  # (errexit is off inside a function called with ||, hence the explicit returns)
  python3 - "$tmp/bootstrap" "$out/$name.zip" <<'PY' || { rm -rf "$tmp"; return 1; }
import sys, zipfile, zlib
src, dst = sys.argv[1], sys.argv[2]
with open(src, "rb") as f:
    data = f.read()
info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
info.create_system = 3                    # unix, so the mode below is honoured
info.external_attr = (0o100755 << 16)     # regular file, rwxr-xr-x: Lambda executes it
info.compress_type = zipfile.ZIP_DEFLATED
with zipfile.ZipFile(dst, "w") as z:
    z.writestr(info, data, compresslevel=9)
PY
  rm -rf "$tmp"
}

build_all() {
  local out=$1 built=0 name rc
  mkdir -p "$out"
  for name in "${FUNCTIONS[@]}"; do
    say "building $name: linux/$GOARCH_OUT bootstrap -> $out/$name.zip"
    rc=0
    build_zip "$name" "$out" || rc=$?
    case $rc in
      0) built=$((built + 1)) ;;
      3) ;;
      *) die "building functions/$name failed" ;;
    esac
  done
  [ "$built" -gt 0 ] || warn "no function was built"
}

if [ "${1:-}" = --verify ]; then
  a=$(mktemp -d) b=$(mktemp -d)
  trap 'rm -rf "$a" "$b"' EXIT
  (umask 022; TZ=UTC build_all "$a")
  sleep 1 # a different wall-clock second: a time stamp leaking into the zip would show
  (umask 077; TZ=Pacific/Auckland build_all "$b")
  n=0
  for name in "${FUNCTIONS[@]}"; do
    [ -f "$a/$name.zip" ] || continue
    if ! cmp -s "$a/$name.zip" "$b/$name.zip"; then
      die "$name.zip differs between two builds of the same source: the package is not reproducible"
    fi
    say "$name.zip: two builds are identical ($(sha256sum <"$a/$name.zip" | cut -c1-16)…, $(wc -c <"$a/$name.zip") bytes)"
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] || warn "nothing to verify: no function under functions/ builds yet"
  exit 0
fi

build_all "$DIST"
(cd "$DIST" && sha256sum -- *.zip >SHA256SUMS 2>/dev/null || true)
say "$DIST: $(cd "$DIST" && ls -1 -- *.zip 2>/dev/null | tr '\n' ' ')"
