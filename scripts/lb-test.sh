#!/usr/bin/env bash
# Two careband replicas behind haproxy on loopback, under steady load, through:
#   1. a reload of replica A with a new dataset (POST /admin/reload), then of replica B
#      (SIGHUP), each with its data folder's version bumped;
#   2. a rolling restart of B drained first (haproxy's runtime API: drain, stop, start, ready);
#   3. a restart of A without draining: haproxy's health checks and retries carry it.
# wrk (scripts/lb-test.lua) counts every answer that is not 200 and every socket error; the
# test fails unless both are 0, and unless answers carrying the new dataset version came back
# through the balancer. Exit 0 on success, 1 on any failure.
#
# Settings (environment):
#   CAREBAND_BIN=path     the binary to run [default: cargo build --locked --release, the build the tests use]
#   LB_SECONDS=300        longest the load may run; it is stopped 3 s after the last step
#   LB_CONNECTIONS=8      wrk connections
#   LB_RETRIES=3          haproxy's retries; 0 (with no redispatch) shows what the test catches
#                         without them: requests lost in the restarts
#   LB_PORT=18480         haproxy's port; the replicas take the next two, the runtime API a
#                         socket in the work folder
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh haproxy wrk curl socat

seconds="${LB_SECONDS:-300}"
connections="${LB_CONNECTIONS:-8}"
lb_port="${LB_PORT:-18480}"
retries="${LB_RETRIES:-3}"
port_a=$((lb_port + 1))
port_b=$((lb_port + 2))
token="lb-test-token-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"

if [ -z "${CAREBAND_BIN:-}" ]; then
  cargo build --locked --release --quiet
  CAREBAND_BIN="${CARGO_TARGET_DIR:-target}/release/careband"
fi

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "lb-test: FAILED: $*" >&2
  for f in "$work"/*.log; do
    echo "--- $(basename "$f") (last lines)" >&2
    tail -n 15 "$f" >&2
  done
  exit 1
}

for p in "$lb_port" "$port_a" "$port_b"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    fail "port $p is in use (set LB_PORT)"
  fi
done

# Each replica serves its own copy of the data, so one can be changed and reloaded alone.
cp -r geodata "$work/data-a"
cp -r geodata "$work/data-b"
old_version="$(sed -n 's/^version = "\(.*\)"$/\1/p' geodata/manifest.toml)"
new_version="${old_version}-lbtest"
[ -n "$old_version" ] || fail "no version in geodata/manifest.toml"

# start NAME PORT: a replica on 127.0.0.1:PORT serving data-NAME; sets started_pid.
start() {
  CAREBAND_ADMIN_TOKEN="$token" "$CAREBAND_BIN" serve \
    --listen "127.0.0.1:$2" --data "$work/data-$1" --workers 1 \
    --max-connections-per-ip 0 --shutdown-timeout-s 10 --log-level "info,careband::server::middleware=warn" \
    >>"$work/$1.log" 2>&1 &
  started_pid=$!
  pids+=("$started_pid")
}

# ready PORT: waits (at most 120 s) until the replica's /readyz answers 200.
ready() {
  for _ in $(seq 1 1200); do
    if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/readyz" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  fail "the replica on port $1 did not become ready"
}

# version PORT: the dataset version a replica serves.
version() {
  curl -fsS --max-time 5 "http://127.0.0.1:$1/readyz" |
    sed -n 's/.*"dataset_version":"\([^"]*\)".*/\1/p'
}

# bump NAME: gives data-NAME the new dataset version (the manifest's own line; every file
# checksum stays right, so the loader accepts it).
bump() {
  sed -i "s/^version = \"$old_version\"$/version = \"$new_version\"/" "$work/data-$1/manifest.toml"
  grep -q "^version = \"$new_version\"$" "$work/data-$1/manifest.toml" || fail "cannot bump data-$1"
}

# api COMMAND: haproxy's runtime API.
api() {
  echo "$1" | socat stdio "unix-connect:$work/haproxy.sock"
}

# wait_state SERVER STATE: waits (at most 30 s) until haproxy reports the server in STATE
# (UP or DOWN, from `show servers state`' operational state column: 2 up, 0 down).
wait_state() {
  local want
  case "$2" in UP) want=2 ;; DOWN) want=0 ;; *) fail "wait_state $2" ;; esac
  for _ in $(seq 1 300); do
    if api "show servers state careband" | awk -v s="$1" -v w="$want" '$4 == s && $6 == w { f = 1 } END { exit !f }'; then
      return 0
    fi
    sleep 0.1
  done
  fail "haproxy did not see $1 $2"
}

start a "$port_a"
pid_a=$started_pid
start b "$port_b"
pid_b=$started_pid
ready "$port_a"
ready "$port_b"

cat >"$work/haproxy.cfg" <<EOF
global
    stats socket $work/haproxy.sock mode 600 level admin
    log stderr format short local0 warning

defaults
    mode http
    log global
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    # A request whose connection failed, or that got no answer on a reused connection, is
    # sent again, to the other replica.
    retries $retries
$([ "$retries" -gt 0 ] && printf '    option redispatch 1\n    retry-on conn-failure empty-response response-timeout 503')

frontend public
    bind 127.0.0.1:$lb_port
    default_backend careband

backend careband
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server check inter 250ms fall 2 rise 2
    server a 127.0.0.1:$port_a
    server b 127.0.0.1:$port_b
EOF
haproxy -c -q -f "$work/haproxy.cfg" || fail "haproxy refused its configuration"
haproxy -db -f "$work/haproxy.cfg" >>"$work/haproxy.log" 2>&1 &
pids+=("$!")
wait_state a UP
wait_state b UP

echo "lb-test: replicas on $port_a and $port_b behind haproxy on $lb_port; load until the steps end" >&2
NEW_VERSION="$new_version" wrk -t 2 -c "$connections" -d "${seconds}s" --timeout 10s \
  -s scripts/lb-test.lua "http://127.0.0.1:$lb_port" >"$work/wrk.out" 2>&1 &
wrk_pid=$!
pids+=("$wrk_pid")
sleep 2

step() { echo "lb-test: $(date +%T) $*" >&2; }

step "1. reload A with new data (POST /admin/reload)"
bump a
reply="$(curl -sS --max-time 120 -X POST -H "Authorization: Bearer $token" \
  -w ' %{http_code}' "http://127.0.0.1:$port_a/admin/reload")"
[ "${reply##* }" = 200 ] || fail "reload of A answered: $reply"
[ "$(version "$port_a")" = "$new_version" ] || fail "A does not serve $new_version after its reload"
sleep 2
step "   reload B with new data (SIGHUP)"
bump b
kill -HUP "$pid_b"
for _ in $(seq 1 1200); do
  [ "$(version "$port_b")" = "$new_version" ] && break
  sleep 0.1
done
[ "$(version "$port_b")" = "$new_version" ] || fail "B does not serve $new_version after SIGHUP"
sleep 2

step "2. rolling restart of B: drain, stop, start, ready"
api "set server careband/b state drain" >/dev/null
sleep 1
kill -TERM "$pid_b"
wait "$pid_b" 2>/dev/null || true
wait_state b DOWN
start b "$port_b"
pid_b=$started_pid
ready "$port_b"
api "set server careband/b state ready" >/dev/null
wait_state b UP
sleep 2

step "3. restart of A without draining (health checks and retries)"
kill -TERM "$pid_a"
wait "$pid_a" 2>/dev/null || true
start a "$port_a"
pid_a=$started_pid
ready "$port_a"
wait_state a UP
sleep 3
step "   done; stopping the load"

kill -0 "$wrk_pid" 2>/dev/null || fail "the load ended before the steps did: raise LB_SECONDS"
# wrk reports (and runs the script's done()) when interrupted.
kill -INT "$wrk_pid"
wait "$wrk_pid" || fail "wrk failed: $(cat "$work/wrk.out")"
cat "$work/wrk.out" >&2
line="$(grep '^lb-test: requests=' "$work/wrk.out")" || fail "no count from wrk"
requests="$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")"
non200="$(sed 's/.*non200=\([0-9]*\).*/\1/' <<<"$line")"
errors="$(sed 's/.*errors=\([0-9]*\).*/\1/' <<<"$line")"
seen_new="$(sed 's/.*new_version=\([0-9]*\).*/\1/' <<<"$line")"
[ "$requests" -gt 1000 ] || fail "only $requests requests were made"
[ "$non200" -eq 0 ] || fail "$non200 answers were not 200"
[ "$errors" -eq 0 ] || fail "$errors socket errors"
[ "$seen_new" -gt 0 ] || fail "no answer carried the new dataset version $new_version"
echo "lb-test: OK: $requests requests, 0 not 200, 0 socket errors, $seen_new with dataset $new_version, across two reloads and two restarts" >&2
