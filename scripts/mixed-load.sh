#!/usr/bin/env bash
# Mixed-workload test (issue 18, "lookups first"): single-lookup throughput and p99 with and
# without batch uploads and bulk requests running at their limits, measured in one run as
# A B A B (A: lookups alone, B: lookups while batch and bulk clients keep the expensive-work
# queues full), so that a noisy shared machine affects both alike.
#
# - lookups: wrk (scripts/loadtest.lua) on GET /v1/lookup?postcode= cycling through real live
#   postcodes, as scripts/loadtest.sh does;
# - batch:   BATCH_CLIENTS curl loops (default: batch_concurrency + batch_queue + 2, so some are
#   always refused; a refused client waits a second, as Retry-After asks) each uploading a 100,000-row CSV to POST /v1/batch, again and again;
# - bulk:    BULK_CLIENTS curl loops (default: pool_queue + 4) each posting a 1 KB bulk request
#   of ten partial postcodes (NR1 ... NR10: ten area summaries) to POST /v1/lookup.
# The background clients' HTTP statuses are counted, so the output shows the expensive work
# being done (200) and refused beyond the queues (503).
#
# Settings (environment):
#   BIN=path                the careband binary (default: build the release binary with cargo,
#                           passing CARGO_ARGS, e.g. CARGO_ARGS="--config ...")
#   DURATION=20s            each phase's wrk run
#   ROUNDS=2                how many A B pairs
#   THREADS=2 CONNECTIONS=64   wrk's -t and -c
#   BATCH_CLIENTS, BULK_CLIENTS   background clients (defaults above)
#   SERVE_ARGS="..."        extra flags for `careband serve` (e.g. --pool-low-priority false)
#   PORT=18090
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh wrk curl

duration="${DURATION:-20s}"
rounds="${ROUNDS:-2}"
threads="${THREADS:-2}"
connections="${CONNECTIONS:-64}"
port="${PORT:-18090}"
url="http://127.0.0.1:$port"

work="$(mktemp -d)"
server_pid=""
background=()
stop_background() {
  for p in "${background[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${background[@]}"; do wait "$p" 2>/dev/null || true; done
  background=()
}
cleanup() {
  stop_background
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Queries for wrk: live postcodes with a position, in a fixed order (as scripts/loadtest.sh).
awk -F, '
  NR == 1 { for (c = 1; c <= NF; c++) col[$c] = c; next }
  $col["status"] == "live" && $col["lat"] != "" && (++live % 7 == 3 || live % 11 == 5) {
    print $col["postcode"]
    if (++k >= 20000) exit
  }
' geodata/postcodes/postcodes.csv > "$work/queries.txt"

# The batch body: 100,000 rows, row i using postcode (i * 7919) mod n (no randomness).
awk -F, '
  NR == 1 { next }
  { pc[n++] = $1 }
  END {
    print "id,postcode"
    for (i = 0; i < 100000; i++) printf "%d,%s\n", i + 1, pc[(i * 7919) % n]
  }' geodata/postcodes/postcodes.csv > "$work/batch.csv"

# The bulk body: ten partial postcodes, each an area summary.
printf '[' > "$work/bulk.json"
for d in 1 2 3 4 5 6 7 8 9 10; do
  [ "$d" -gt 1 ] && printf ',' >> "$work/bulk.json"
  printf '{"postcode": "NR%d", "date": "2019-06-01"}' "$d" >> "$work/bulk.json"
done
printf ']' >> "$work/bulk.json"

bin="${BIN:-}"
if [ -z "$bin" ]; then
  # shellcheck disable=SC2086
  cargo build --locked --release ${CARGO_ARGS:-} >&2
  bin="${CARGO_TARGET_DIR:-target}/release/careband"
fi

# shellcheck disable=SC2086
CAREBAND_LOG_LEVEL=warn "$bin" serve --listen "127.0.0.1:$port" ${SERVE_ARGS:-} &
server_pid=$!
for _ in $(seq 1 300); do
  if curl -fsS "$url/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then echo "mixed-load: the server did not start" >&2; exit 1; fi
  sleep 0.2
done

# The limits in force, for the default client counts: the flags given, else the defaults.
limit() { # limit FLAG DEFAULT
  local v
  v="$(printf '%s\n' ${SERVE_ARGS:-} | awk -v f="$1" 'prev == f { print; exit } { prev = $0 }')"
  echo "${v:-$2}"
}
batch_clients="${BATCH_CLIENTS:-$(( $(limit --batch-concurrency 2) + $(limit --batch-queue 4) + 2 ))}"
bulk_clients="${BULK_CLIENTS:-$(( $(limit --pool-queue 16) + 4 ))}"

# loop NAME N CURL-ARGS...: N clients repeating one request, one status per line per client.
# A client told 503 waits a second before trying again, as Retry-After asks. The clients run
# at the lowest priority (nice 19): on this one machine they stand for clients elsewhere, and
# their own CPU (curl uploading and reading megabytes) must not count against the server.
loop() {
  local name="$1" n="$2"
  shift 2
  for i in $(seq 1 "$n"); do
    (
      while :; do
        code="$(nice -n 19 curl -s -o /dev/null -w '%{http_code}' "$@" || echo 000)"
        echo "$code" >> "$work/codes-$name.$i"
        if [ "$code" != 200 ]; then sleep 1; fi
      done
    ) &
    background+=("$!")
  done
}

# phase LABEL: one wrk run; prints "LABEL requests/s p99-ms".
phase() {
  wrk -t"$threads" -c"$connections" -d"$duration" --latency \
    -s scripts/loadtest.lua "$url" -- "$work/queries.txt" "/v1/lookup?postcode=" > "$work/wrk.out"
  local rps p99 errors
  rps="$(awk '/^requests\/s/ { print $2 }' "$work/wrk.out")"
  p99="$(awk '/^latency p99/ { print $3 }' "$work/wrk.out")"
  errors="$(awk '/^errors/ { sub(/^errors +/, ""); print }' "$work/wrk.out")"
  echo "$1 $rps $p99" >> "$work/phases.txt"
  printf '%-9s %8s req/s   p99 %8s ms   (%s)\n' "$1" "$rps" "$p99" "$errors"
}

counts() { # counts NAME: "200 x N, 503 x M" over every client of NAME
  cat "$work/codes-$1".* 2>/dev/null | sort | uniq -c | awk '{ printf "%s%s x %s", sep, $2, $1; sep = ", " }'
}

echo "== mixed load: $(nproc) cores; wrk -t$threads -c$connections -d$duration; $batch_clients batch clients (100,000 rows, $(du -h "$work/batch.csv" | cut -f1)), $bulk_clients bulk clients (10 area summaries, $(wc -c < "$work/bulk.json") bytes)"
echo "== serve ${SERVE_ARGS:-(default limits)}"
for r in $(seq 1 "$rounds"); do
  phase "A$r-alone"
  loop batch "$batch_clients" -X POST -H 'content-type: text/csv' --data-binary "@$work/batch.csv" \
    "$url/v1/batch?date=2019-06-01"
  loop bulk "$bulk_clients" -X POST -H 'content-type: application/json' --data-binary "@$work/bulk.json" \
    "$url/v1/lookup"
  sleep 2 # let the queues fill
  phase "B$r-mixed"
  stop_background
  echo "          batch: $(counts batch); bulk: $(counts bulk)"
  rm -f "$work"/codes-*
done

echo "== summary (mean of the A and of the B phases)"
awk '
  $1 ~ /^A/ { ar += $2; ap += $3; na++ }
  $1 ~ /^B/ { br += $2; bp += $3; nb++ }
  END {
    ar /= na; ap /= na; br /= nb; bp /= nb
    printf "alone     %8.0f req/s   p99 %8.2f ms\n", ar, ap
    printf "mixed     %8.0f req/s   p99 %8.2f ms\n", br, bp
    printf "ratio     throughput %.0f%% of alone (target >= 70%%), p99 %.2fx (target <= 3x)\n", 100 * br / ar, bp / ap
  }' "$work/phases.txt"
