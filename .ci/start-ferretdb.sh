#!/usr/bin/env bash
# Starts FerretDB (SQLite backend) on 127.0.0.1:$1 with its data under $2, waits until it accepts connections.
set -euo pipefail
PORT=${1:-27017}
DIR=${2:-$(mktemp -d)}
BIN="${TICKETING_TOOLS_DIR:-$HOME/.cache/ticketing-tools}/bin/ferretdb"
mkdir -p "$DIR/data" "$DIR/state"
"$BIN" --handler=sqlite --sqlite-url="file:$DIR/data/" --listen-addr="127.0.0.1:$PORT" \
  --state-dir="$DIR/state" --debug-addr=- --telemetry=disable --log-level=warn >"$DIR/ferretdb.log" 2>&1 &
echo $! > "$DIR/ferretdb.pid"
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then echo "ferretdb listening on 127.0.0.1:$PORT (pid $(cat "$DIR/ferretdb.pid"))"; exit 0; fi
  sleep 0.1
done
echo "ferretdb did not start; log:" >&2; cat "$DIR/ferretdb.log" >&2; exit 1
