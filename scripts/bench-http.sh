#!/usr/bin/env bash
# careband over HTTP against the machine's own HTTP ceiling, side by side in one run.
#
# The ceiling (benches/http_ceiling.rs) is a minimal actix-web server with the same workers
# that reads the query string into pairs and serialises a JSON document as large as careband's
# answer (careband's own answer to the first postcode, fetched here) for every request. Both
# servers run at once; wrk asks each in turn, A B A B, the same postcodes
# (GET /v1/lookup?postcode=, from geodata/postcodes/postcodes.csv), at each concurrency. For
# every run it reads the server's CPU time from /proc before and after, so the CPU per request
# is the server's own (wrk shares the cores). It prints, per concurrency, the sums over the
# rounds: requests/s, CPU per request and p99 latency of each, and careband / ceiling ratios.
#
# Settings (environment):
#   DURATION=10s  each wrk run        ROUNDS=2  A B pairs per concurrency
#   CONCURRENCY="8 64"  wrk -c values THREADS=2 wrk -t    WORKERS=2 server workers
#   LOG_LEVEL=info  careband's log level (its default)
#   POSTCODES=20000 postcodes cycled through   MATCH=^NR  only postcodes matching this awk
#                   regex (default Norfolk's, whose answers carry the full evidence)
#   CAREBAND_BIN=path  measure this careband binary instead of building the tree's
#   CAREBAND_BASE=path also measure this binary ("base", an older build) in the same rounds,
#                   and print careband / base ratios
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

scripts/install-deps.sh wrk curl python3

duration="${DURATION:-10s}"
rounds="${ROUNDS:-2}"
concurrency="${CONCURRENCY:-8 64}"
threads="${THREADS:-2}"
workers="${WORKERS:-2}"
log_level="${LOG_LEVEL:-info}"
count="${POSTCODES:-20000}"
match="${MATCH:-^NR}"

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

careband_bin="${CAREBAND_BIN:-}"
if [ -z "$careband_bin" ]; then
  cargo build --locked --release --bin careband >&2
  careband_bin="${CARGO_TARGET_DIR:-target}/release/careband"
fi
ceiling_bin="$(cargo bench --locked --no-run --bench http_ceiling --message-format=json 2>/dev/null |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "http_ceiling" and m.get("executable"):
        print(m["executable"])')"
[ -x "$ceiling_bin" ] || { echo "bench-http: the ceiling server did not build" >&2; exit 1; }

# Live postcodes with a position, in a fixed order (the same list every run).
careband_postcodes "$count" "$match" > "$work/queries.txt"

# start_careband NAME BIN: serves the embedded data on a free port chosen here (above `info`
# careband does not log the one it got); sets NAME_pid and NAME_port.
start_careband() {
  local name="$1" bin="$2" port pid
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  CAREBAND_LOG_LEVEL="$log_level" "$bin" serve --listen "127.0.0.1:$port" \
    --workers "$workers" > "$work/$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/$name.log" >&2; echo "bench-http: $name did not start" >&2; exit 1; }
    sleep 0.2
  done
  printf -v "${name}_pid" %s "$pid"
  printf -v "${name}_port" %s "$port"
}

servers=(ceiling careband)
start_careband careband "$careband_bin"
if [ -n "${CAREBAND_BASE:-}" ]; then
  start_careband base "$CAREBAND_BASE"
  servers+=(base)
fi
first="$(head -n 1 "$work/queries.txt")"
curl -fsS --get --data-urlencode "postcode=$first" \
  "http://127.0.0.1:$careband_port/v1/lookup" > "$work/answer.json"

"$ceiling_bin" --listen 127.0.0.1:0 --body "$work/answer.json" --workers "$workers" \
  > "$work/ceiling.log" 2>&1 &
ceiling_pid=$!
pids+=("$ceiling_pid")
ceiling_port="$(careband_port "$work/ceiling.log" "$ceiling_pid" bench-http)"
echo "bench-http: ${servers[*]} (careband log level $log_level)," \
  "answer $(wc -c < "$work/answer.json") bytes, $(wc -l < "$work/queries.txt") postcodes" >&2

# Server CPU time so far, in clock ticks (utime + stime of /proc/PID/stat).
cpu_ticks() {
  # The command name (field 2) is in parentheses and may hold spaces: count after it.
  sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# run NAME PID PORT CONNECTIONS: one wrk run; appends "name c requests seconds ticks p99_ms".
run() {
  local name="$1" pid="$2" port="$3" c="$4" before after
  before="$(cpu_ticks "$pid")"
  wrk -t"$threads" -c"$c" -d"$duration" --latency -s scripts/loadtest.lua \
    "http://127.0.0.1:$port" -- "$work/queries.txt" "/v1/lookup?postcode=" > "$work/wrk.txt"
  after="$(cpu_ticks "$pid")"
  awk -v name="$name" -v c="$c" -v ticks="$((after - before))" '
    /^requests  / { requests = $2; seconds = $4 }
    /^latency p99/ { p99 = $3 }
    /non-2xx/ { bad = $NF }
    END {
      if (bad + 0 > 0) { print "bench-http: " bad " answers were not 2xx" > "/dev/stderr"; exit 1 }
      print name, c, requests, seconds, ticks, p99
    }
  ' "$work/wrk.txt" >> "$work/runs.txt"
  tail -n 1 "$work/runs.txt" >&2
}

: > "$work/runs.txt"
for c in $concurrency; do
  for name in "${servers[@]}"; do
    # A short warm-up of each, not counted.
    port_var="${name}_port"
    wrk -t"$threads" -c"$c" -d2s -s scripts/loadtest.lua "http://127.0.0.1:${!port_var}" -- \
      "$work/queries.txt" > /dev/null
  done
  for _ in $(seq 1 "$rounds"); do
    for name in "${servers[@]}"; do
      pid_var="${name}_pid"
      port_var="${name}_port"
      run "$name" "${!pid_var}" "${!port_var}" "$c"
    done
  done
done

echo
echo "careband vs the HTTP ceiling: $(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t$threads -d$duration, $rounds rounds of ${servers[*]} in turn per concurrency, careband log level $log_level"
awk -v hz="$(getconf CLK_TCK)" -v names="${servers[*]}" '
  { key = $1 " " $2
    n[key] += $3; s[key] += $4; t[key] += $5
    # p99: the worst of the rounds
    if ($6 > p[key]) p[key] = $6
    if (!($2 in seen)) { seen[$2] = 1; order[++nc] = $2 } }
  END {
    ns = split(names, server, " ")
    printf "%-4s %-9s %10s %14s %9s\n", "-c", "server", "req/s", "CPU/request", "p99"
    for (i = 1; i <= nc; i++) {
      c = order[i]
      for (k = 1; k <= ns; k++) {
        key = server[k] " " c
        rps[key] = n[key] / s[key]; cpu[key] = t[key] / hz * 1e6 / n[key]
        printf "%-4s %-9s %10.0f %11.1f us %6.2f ms\n", c, server[k], rps[key], cpu[key], p[key]
      }
      b = "ceiling " c
      for (k = 2; k <= ns; k++) {
        a = server[k] " " c
        printf "%-4s %-9s %9.2fx %13.2fx %8.2fx   (%s / ceiling)\n", c, "ratio", rps[a] / rps[b], cpu[a] / cpu[b], p[a] / p[b], server[k]
      }
      if (ns == 3) {
        a = "careband " c; b = "base " c
        printf "%-4s %-9s %9.2fx %13.2fx %8.2fx   (careband / base)\n", c, "ratio", rps[a] / rps[b], cpu[a] / cpu[b], p[a] / p[b]
      }
    }
  }
' "$work/runs.txt"
