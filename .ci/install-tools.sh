#!/usr/bin/env bash
# Builds the real servers and tools the tests and the local stack use, from the Go module proxy (and PyPI), into
# a cache that survives between runs. The one recipe: CI runs it for every tool, `npm start` (tools/stack) runs
# it for the servers it is missing.
#   bash .ci/install-tools.sh                 every tool
#   bash .ci/install-tools.sh stripe-mock nats only those (a failure of any of them fails the run)
# Tools (DESIGN.md pins the servers): nats-server 2.14.5, stripe-mock 0.197.0, FerretDB 1.24.2, kustomize 5.8.0
# and promtool 3.16.0 (infra checks), json-exporter 0.7.0 (the NATS metrics of infra/observability, checked
# against a real nats-server), schemathesis 4.32.5 (API fuzzing, from PyPI), the nats CLI 0.5.0 (optional when
# every tool is built: nothing in the tests needs it), and Debian's chromium for the shop's browser tests
# (apt-get, when /usr/bin/chromium is missing and we are root).
# A cached binary is kept only if it was built from the pinned version (`go version -m` says which); otherwise
# it is rebuilt. One line per tool says what happened.
set -euo pipefail

TOOLS_DIR="${TICKETING_TOOLS_DIR:-$HOME/.cache/ticketing-tools}"
BIN="$TOOLS_DIR/bin"
mkdir -p "$BIN"
export GOBIN="$BIN"
export GOFLAGS="${GOFLAGS:-} -trimpath"

log() { printf '[install-tools] %s\n' "$*" >&2; }

# Two runs at once (CI and an `npm start`, two stacks) must not write the same binary together.
if command -v flock >/dev/null; then
  exec 9>"$TOOLS_DIR/.install.lock"
  flock 9
fi

need_go() {
  command -v go >/dev/null && return
  log "$1: cannot build it: go is not installed (Go 1.26 or later builds every tool here from the module proxy)"
  return 1
}

# The version of the main module a Go binary was built from (empty when it does not say, or without go).
built_version() { # binary
  command -v go >/dev/null || return 0
  go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

# Whether the cached binary can stay: built from the pinned version, or go is missing and it cannot be checked.
cached() { # name have want
  local name=$1 have=$2 want=$3
  [ -x "$BIN/$name" ] || return 1
  if [ "$have" = "$want" ]; then log "$name $want: cached"; return 0; fi
  if ! command -v go >/dev/null; then log "$name: cached (version not checked: go is not installed)"; return 0; fi
  log "$name: the cached binary is ${have:-of an unknown version}, not $want: rebuilding"
  return 1
}

built() { # name started
  log "$1: built in $(( $(date +%s) - $2 ))s"
}

install_go_tool() { # name module@version
  local name=$1 module=${2%@*} version=${2##*@} started
  cached "$name" "$(built_version "$BIN/$name")" "$version" && return
  need_go "$name"
  log "$name: go install $module@$version"
  started=$(date +%s)
  # Into a directory of its own first, then renamed: a binary that is there is always a whole one.
  local work
  work=$(mktemp -d "$TOOLS_DIR/.build-XXXXXX")
  GOBIN="$work" go install "$module@$version"
  mv -f "$work"/* "$BIN/$name"
  rm -rf "$work"
  built "$name" "$started"
}

# A writable copy of a module's source, for tools that `go install` cannot build as they are; prints its path.
module_copy() { # name module@version
  local dir work
  dir=$(go mod download -json "$2" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -n "$dir" ] || { log "$1: go mod download $2 failed"; return 1; }
  work=$(mktemp -d "$TOOLS_DIR/.build-XXXXXX")
  cp -r "$dir" "$work/src"
  chmod -R u+w "$work/src"
  printf '%s\n' "$work"
}

install_ferretdb() {
  local version=v1.24.2 have="" started work
  # Built from a copy of the module (below), so `go version -m` has no version: ask the binary.
  [ -x "$BIN/ferretdb" ] && have=$("$BIN/ferretdb" --version 2>/dev/null | sed -n 's/^version: //p')
  cached ferretdb "$have" "$version" && return
  need_go ferretdb
  log "ferretdb: building $version (go install panics at start, FerretDB#2982)"
  started=$(date +%s)
  work=$(module_copy ferretdb "github.com/FerretDB/FerretDB@$version")
  printf '%s' "$version" > "$work/src/build/version/version.txt"
  (cd "$work/src" && go build -o "$work/ferretdb" ./cmd/ferretdb)
  mv -f "$work/ferretdb" "$BIN/ferretdb"
  rm -rf "$work"
  built ferretdb "$started"
}

install_json_exporter() {
  local version=0.7.0 have="" started work
  [ -x "$BIN/json-exporter" ] && have=$("$BIN/json-exporter" --version 2>&1 | sed -n 's/^json_exporter, version \([^ ]*\).*/\1/p')
  cached json-exporter "$have" "$version" && return
  need_go json-exporter
  # go install refuses it (the module proxy will not list its versions, which go install asks for): build the
  # downloaded module, stamping the version its --version prints.
  log "json-exporter: building v$version"
  started=$(date +%s)
  work=$(module_copy json-exporter "github.com/prometheus-community/json_exporter@v$version")
  (cd "$work/src" && go build -ldflags "-X github.com/prometheus/common/version.Version=$version" -o "$work/json-exporter" .)
  mv -f "$work/json-exporter" "$BIN/json-exporter"
  rm -rf "$work"
  built json-exporter "$started"
}

install_jaeger() {
  local version=v1.76.0 have="" started work
  [ -x "$BIN/jaeger" ] && have=$("$BIN/jaeger" version 2>/dev/null | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p')
  cached jaeger "$have" "$version" && return
  need_go jaeger
  # go install refuses it (its go.mod has a replace directive): build the downloaded module, stamping the version
  # `jaeger version` prints. The UI's assets are not in the module (Jaeger's release build adds them), so its
  # page is Jaeger's placeholder; the query API (/api/traces) is all there.
  log "jaeger: building $version"
  started=$(date +%s)
  work=$(module_copy jaeger "github.com/jaegertracing/jaeger@$version")
  (cd "$work/src" && go build -ldflags "-X github.com/jaegertracing/jaeger/internal/version.latestVersion=$version" -o "$work/jaeger" ./cmd/jaeger)
  mv -f "$work/jaeger" "$BIN/jaeger"
  rm -rf "$work"
  built jaeger "$started"
}

install_schemathesis() {
  local version=4.32.5 venv="$TOOLS_DIR/schemathesis-venv"
  if [ -x "$BIN/schemathesis" ] && "$BIN/schemathesis" --version 2>/dev/null | grep -q "$version"; then
    log "schemathesis $version: cached"; return
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

install_tool() { # name
  case "$1" in
    chromium) install_chromium ;;
    nats-server) install_go_tool nats-server github.com/nats-io/nats-server/v2@v2.14.5 ;;
    stripe-mock) install_go_tool stripe-mock github.com/stripe/stripe-mock@v0.197.0 ;;
    ferretdb) install_ferretdb ;;
    kustomize) install_go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5@v5.8.0 ;;
    promtool) install_go_tool promtool github.com/prometheus/prometheus/cmd/promtool@v0.316.0 ;;
    json-exporter) install_json_exporter ;;
    schemathesis) install_schemathesis ;;
    # The nats CLI (v0.4.0 was refused by the module proxy; v0.5.0 is served).
    nats) install_go_tool nats github.com/nats-io/natscli/nats@v0.5.0 ;;
    # Jaeger all-in-one (collector with an OTLP receiver, query API and UI, in-memory store): `npm start` runs it
    # when it is here, so a purchase's trace can be looked at.
    jaeger) install_jaeger ;;
    *) log "unknown tool $1 (known: $all)"; exit 2 ;;
  esac
}

all="chromium nats-server stripe-mock ferretdb kustomize promtool json-exporter schemathesis nats jaeger"

if [ $# -gt 0 ]; then
  for tool in "$@"; do install_tool "$tool"; done
else
  for tool in $all; do
    if [ "$tool" = nats ]; then
      # A convenience for looking at the bus by hand; nothing in the tests needs it.
      install_tool nats || log "nats CLI: could not be built here; skipped"
    else
      install_tool "$tool"
    fi
  done
fi
log "tools in $BIN"
