#!/usr/bin/env bash
# Load test of GET /v1/lookup?postcode= with wrk, cycling through real live postcodes taken
# from geodata/postcodes/postcodes.csv. Reports requests/s and p99 latency.
#
# By default it builds the release binary, starts `careband serve` on a free local port, runs
# wrk against it and stops it. Settings (environment):
#   URL=http://host:port  test a server that is already running instead of starting one
#   DURATION=30s THREADS=2 CONNECTIONS=64   wrk's -d, -t and -c
#   POSTCODES=20000       how many postcodes to cycle through
#   MATCH=^NR             only postcodes matching this awk regex (default: all)
#   PORT=18080            port of the server this script starts
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh wrk curl

duration="${DURATION:-30s}"
threads="${THREADS:-2}"
connections="${CONNECTIONS:-64}"
count="${POSTCODES:-20000}"
match="${MATCH:-}"

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

# Live postcodes with a position, in a fixed pseudo-random order (same list every run).
awk -F, -v n="$count" -v m="$match" '
  NR == 1 { for (c = 1; c <= NF; c++) col[$c] = c; next }
  $col["status"] == "live" && $col["lat"] != "" && $col["postcode"] ~ m && (++live % 7 == 3 || live % 11 == 5) {
    print $col["postcode"]
    if (++k >= n) exit
  }
' geodata/postcodes/postcodes.csv > "$work/postcodes.txt"
echo "loadtest: $(wc -l < "$work/postcodes.txt") postcodes" >&2

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
  -s scripts/loadtest.lua "$url" -- "$work/postcodes.txt"
