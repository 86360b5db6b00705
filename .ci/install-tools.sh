#!/usr/bin/env bash
# Builds the real servers the tests and the local stack use, from the Go module proxy,
# into a cache that survives between runs. Each tool is built only when missing.
#   nats-server 2.14.5, stripe-mock 0.197.0, FerretDB 1.24.2 (see DESIGN.md), kustomize 5.8.0 (infra checks),
#   schemathesis 4.32.5 (API fuzzing, from PyPI), the nats CLI 0.4.0 when the module proxy serves it, and Debian's
#   chromium for the shop's browser tests (apt-get, when /usr/bin/chromium is missing and we are root).
set -euo pipefail

TOOLS_DIR="${TICKETING_TOOLS_DIR:-$HOME/.cache/ticketing-tools}"
BIN="$TOOLS_DIR/bin"
mkdir -p "$BIN"
export GOBIN="$BIN"
export GOFLAGS="${GOFLAGS:-} -trimpath"

log() { printf '[install-tools] %s\n' "$*" >&2; }

install_go_tool() { # name module@version
  local name=$1 module=$2
  if [ -x "$BIN/$name" ]; then log "$name: cached"; return; fi
  log "$name: go install $module"
  go install "$module"
}

install_ferretdb() {
  local version=v1.24.2
  if [ -x "$BIN/ferretdb" ]; then log "ferretdb: cached"; return; fi
  log "ferretdb: building $version (go install panics at start, FerretDB#2982)"
  local dir src work
  dir=$(go mod download -json "github.com/FerretDB/FerretDB@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  work=$(mktemp -d)
  src="$work/ferretdb"
  cp -r "$dir" "$src"
  chmod -R u+w "$src"
  printf '%s' "$version" > "$src/build/version/version.txt"
  (cd "$src" && go build -o "$BIN/ferretdb.tmp" ./cmd/ferretdb)
  mv "$BIN/ferretdb.tmp" "$BIN/ferretdb"
  rm -rf "$work"
}

install_schemathesis() {
  local version=4.32.5 venv="$TOOLS_DIR/schemathesis-venv"
  if [ -x "$BIN/schemathesis" ] && "$BIN/schemathesis" --version 2>/dev/null | grep -q "$version"; then
    log "schemathesis: cached"; return
  fi
  log "schemathesis: pip install schemathesis==$version"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
  ln -sf "$venv/bin/schemathesis" "$BIN/schemathesis"
}

install_chromium() {
  # Playwright (playwright-core) drives this one; it downloads no browser of its own.
  if [ -x /usr/bin/chromium ]; then log "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"; return; fi
  if [ "$(id -u)" != 0 ]; then log "chromium: missing; install it as root: apt-get install -y chromium"; return 1; fi
  log "chromium: apt-get install chromium"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

install_chromium
install_go_tool nats-server github.com/nats-io/nats-server/v2@v2.14.5
install_go_tool stripe-mock github.com/stripe/stripe-mock@v0.197.0
install_ferretdb
install_go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5@v5.8.0
install_schemathesis
# The nats CLI is a convenience for looking at the bus by hand; nothing in the tests needs it.
install_go_tool nats github.com/nats-io/natscli/nats@v0.4.0 || log "nats CLI: not available from the module proxy here; skipped"
log "tools in $BIN"
