#!/usr/bin/env bash
# Browser tests of the price band identification tool: builds careband (dev profile), starts
# `careband serve` on a free local port, drives the page in headless Chromium (Debian's
# chromium, through playwright-core from web/node_modules) and stops the server. Screenshots
# at desktop and 360 px phone width go to artifacts/browser/ (or $ARTIFACTS).
#
# Exit code: 0 when every check passed, non-zero otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh chromium chromium-driver curl
scripts/web-deps.sh

artifacts="${ARTIFACTS:-artifacts/browser}"
mkdir -p "$artifacts"
rm -f "$artifacts"/failed-*.png  # screenshots of an earlier run's failures
cargo build --locked --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/careband"

# A free port: the first of a few that nothing answers on.
port=""
for p in $(seq $((18200 + RANDOM % 500)) 18799); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "browser-test: no free port" >&2; exit 1; }
url="http://127.0.0.1:$port"

server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
CAREBAND_LOG_LEVEL=warn "$bin" serve --listen "127.0.0.1:$port" > "$artifacts/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  if curl -fsS "$url/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "browser-test: the server did not start:" >&2
    cat "$artifacts/server.log" >&2
    exit 1
  fi
  sleep 0.2
done

start=$(date +%s.%N)
status=0
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" node web/tests/browser.mjs "$url" "$artifacts" || status=$?
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "browser-test: ${took} s in the browser; screenshots in $artifacts" >&2
exit "$status"
