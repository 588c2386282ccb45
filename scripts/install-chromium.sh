#!/usr/bin/env bash
# Installs Chromium, which the test of `rotaudit fleet --format html` starts headless to load
# the page and read its DOM (cmd/rotaudit, internal/fleet). Idempotent: when a Chromium is
# already there (ROTAUDIT_CHROMIUM, then chromium or chromium-browser on PATH) it only says
# where. Otherwise it installs Debian's `chromium` package with apt-get, which needs root.
# Prints the binary's path on stdout; progress goes to stderr.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

find_chromium() {
  if [ -n "${ROTAUDIT_CHROMIUM:-}" ]; then
    [ -x "$ROTAUDIT_CHROMIUM" ] || die "ROTAUDIT_CHROMIUM=$ROTAUDIT_CHROMIUM is not an executable"
    echo "$ROTAUDIT_CHROMIUM"
    return 0
  fi
  command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null
}

if bin=$(find_chromium); then
  say "chromium is already installed at $bin"
  echo "$bin"
  exit 0
fi
command -v apt-get >/dev/null 2>&1 ||
  die "chromium is not installed and this is not a Debian-like system (no apt-get): install Chromium and set ROTAUDIT_CHROMIUM to its binary"
apt=(apt-get)
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "chromium is not installed and installing it needs root: run 'apt-get install -y chromium' as root"
  apt=(sudo -n apt-get)
fi
say "installing Debian's chromium package (apt-get install -y chromium; a few minutes the first time)"
# The package lists may be stale or absent on a fresh machine: refresh them once.
if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -q --no-install-recommends chromium >&2; then
  say "apt-get install failed; refreshing the package lists (apt-get update) and trying again"
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" update -q >&2 || die "apt-get update failed (output above)"
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -q --no-install-recommends chromium >&2 ||
    die "apt-get install chromium failed (output above)"
fi
bin=$(find_chromium) || die "apt-get installed chromium, but neither chromium nor chromium-browser is on PATH"
say "installed $bin"
echo "$bin"
