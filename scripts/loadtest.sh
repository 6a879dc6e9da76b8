#!/usr/bin/env bash
# Load test with wrk. Two endpoints (ENDPOINT=lookup, the default, or ENDPOINT=places):
#   lookup  GET /v1/lookup?postcode= cycling through real live postcodes taken from
#           geodata/postcodes/postcodes.csv;
#   places  GET /v1/places?q= (autocomplete) cycling through every prefix of every 53rd name
#           of geodata/places/gazetteer.csv, typed letter by letter, as a search box sends them.
# Reports requests/s and p50 / p99 latency.
#
# By default it builds the release binary, starts `careband serve` on a free local port, runs
# wrk against it and stops it. Settings (environment):
#   URL=http://host:port  test a server that is already running instead of starting one
#   DURATION=30s THREADS=2 CONNECTIONS=64   wrk's -d, -t and -c
#   POSTCODES=20000       lookup: how many postcodes to cycle through
#   MATCH=^NR             lookup: only postcodes matching this awk regex (default: all)
#   STRIDE=53             places: take every STRIDE-th gazetteer name
#   PORT=18080            port of the server this script starts
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

scripts/install-deps.sh wrk curl

duration="${DURATION:-30s}"
threads="${THREADS:-2}"
connections="${CONNECTIONS:-64}"
count="${POSTCODES:-20000}"
match="${MATCH:-}"
endpoint="${ENDPOINT:-lookup}"
stride="${STRIDE:-53}"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

case "$endpoint" in
  lookup)
    path="/v1/lookup?postcode="
    # Live postcodes with a position, in a fixed pseudo-random order (same list every run).
    careband_postcodes "$count" "$match" > "$work/queries.txt"
    ;;
  places)
    path="/v1/places?q="
    # Every prefix of every STRIDE-th name (the name is the first column; names with a comma
    # are quoted, so take what lies between the quotes).
    awk -v s="$stride" '
      NR == 1 { next }
      (NR - 2) % s == 0 {
        if (substr($0, 1, 1) == "\"") { name = substr($0, 2); name = substr(name, 1, index(name, "\"") - 1) }
        else { name = substr($0, 1, index($0, ",") - 1) }
        for (l = 1; l <= length(name); l++) print substr(name, 1, l)
      }
    ' geodata/places/gazetteer.csv > "$work/queries.txt"
    ;;
  *)
    echo "loadtest: ENDPOINT must be lookup or places, not '$endpoint'" >&2
    exit 2
    ;;
esac
echo "loadtest: $(wc -l < "$work/queries.txt") queries for $path" >&2

url="${URL:-}"
if [ -z "$url" ]; then
  cargo build --locked --release >&2
  target="${CARGO_TARGET_DIR:-target}"
  port="${PORT:-18080}"
  url="http://127.0.0.1:$port"
  CAREBAND_LOG_LEVEL=warn "$target/release/careband" serve --listen "127.0.0.1:$port" &
  server_pid=$!
  for _ in $(seq 1 300); do
    if curl -fsS "$url/readyz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then echo "loadtest: the server did not start" >&2; exit 1; fi
    sleep 0.2
  done
fi

echo "loadtest: wrk -t$threads -c$connections -d$duration against $url" >&2
wrk -t"$threads" -c"$connections" -d"$duration" --latency \
  -s scripts/loadtest.lua "$url" -- "$work/queries.txt" "$path"
