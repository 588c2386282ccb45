#!/usr/bin/env bash
# Installs aws-lambda-rie, AWS's Lambda runtime interface emulator, into the tools folder
# (${ROTAUDIT_TOOLS:-$HOME/.cache/rotaudit/tools}/bin), where the rotation tests and
# benchmarks look for it. Idempotent: a second run only checks the installed version.
# Prints the binary's path on stdout; progress goes to stderr.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MODULE=github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
VERSION=v0.0.0-20261030222936-bef5c4ba774d
TOOLS=${ROTAUDIT_TOOLS:-$HOME/.cache/rotaudit/tools}
BIN=$TOOLS/bin/aws-lambda-rie
STAMP=$TOOLS/bin/.aws-lambda-rie.version

if [ -x "$BIN" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ]; then
  say "aws-lambda-rie $VERSION is already installed at $BIN"
  echo "$BIN"
  exit 0
fi
command -v go >/dev/null 2>&1 || die "go is not on PATH: install Go 1.26 first (aws-lambda-rie is built from source)"
mkdir -p "$TOOLS/bin" || die "cannot create $TOOLS/bin: set ROTAUDIT_TOOLS to a writable folder"
say "installing aws-lambda-rie $VERSION into $TOOLS/bin (go install $MODULE@$VERSION)"
# Outside the repository, so the project's go.mod plays no part in the tool's build.
if ! (cd / && GOBIN="$TOOLS/bin" GOFLAGS= go install "$MODULE@$VERSION"); then
  die "go install $MODULE@$VERSION failed (output above): it needs the Go module proxy (GOPROXY=$(go env GOPROXY)) or a module cache that holds it"
fi
echo "$VERSION" >"$STAMP"
say "installed $BIN"
echo "$BIN"
