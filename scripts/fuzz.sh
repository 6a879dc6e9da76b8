#!/usr/bin/env bash
# Fuzzes the HTTP API against its own OpenAPI document with schemathesis.
#
# 1. Installs the pinned schemathesis (scripts/fuzz-requirements.txt) into a virtualenv outside
#    the repository, once.
# 2. Builds the release binary and starts `careband serve` on a free local port, with an admin
#    token (so /admin/reload is routed and must refuse the fuzzer) and a CORS origin.
# 3. Runs every schemathesis phase (examples, coverage, fuzzing, stateful) over every documented
#    operation with every check (no 5xx, documented status codes, content types, headers and
#    response schemas, refusal of invalid input, 405 with Allow for undocumented methods, auth),
#    a fixed example budget per operation and a fixed seed (scripts/schemathesis.toml switches
#    on every check, and off, with the reason, the few an operation cannot meet by design).
# 4. Fails if schemathesis found anything, if the server died, or if it logged a panic.
#
# Environment: FUZZ_EXAMPLES (test cases per operation and phase, default 400: about two and a
# half minutes on two cores), FUZZ_SEED, FUZZ_VENV (the virtualenv), FUZZ_REPORT_DIR (JUnit and
# NDJSON reports and the server log; default: fuzz/ in cargo's target directory).
set -euo pipefail
cd "$(dirname "$0")/.."

examples="${FUZZ_EXAMPLES:-400}"
seed="${FUZZ_SEED:-4}"
venv="${FUZZ_VENV:-$HOME/.cache/careband/venv}"
requirements=scripts/fuzz-requirements.txt

# --- 1. schemathesis, pinned --------------------------------------------------------------
. scripts/common.sh
careband_venv "$venv" "$requirements"
st="$venv/bin/st"
echo "fuzz: $("$st" --version)" >&2

# --- 2. the server --------------------------------------------------------------------------
scripts/install-deps.sh
cargo build --locked --release
target_dir="$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/release/careband"
report_dir="${FUZZ_REPORT_DIR:-$target_dir/fuzz}"
rm -rf "$report_dir"
mkdir -p "$report_dir"
log="$report_dir/server.log"

# A token nobody passes to the fuzzer: /admin/reload must answer it 401, never reload.
token="fuzz-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
CAREBAND_ADMIN_TOKEN="$token" "$bin" serve --listen 127.0.0.1:0 \
  --cors-origin http://localhost:8000 --log-level info 2>"$log" &
server=$!
stop_server() {
  if kill -0 "$server" 2>/dev/null; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
}
trap stop_server EXIT

# Port 0 picks a free port; the server logs the one it got.
port="$(careband_port "$log" "$server" fuzz)"
base="http://127.0.0.1:$port"
"$venv/bin/python" - "$base/readyz" <<'EOF'
import sys, time, urllib.request
for _ in range(300):
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit("fuzz: the server never became ready")
EOF
echo "fuzz: careband serving on $base, $examples examples per operation, seed $seed" >&2

# --- 3. schemathesis ------------------------------------------------------------------------
started=$SECONDS
status=0
"$st" --config-file scripts/schemathesis.toml run "$base/openapi.json" \
  --max-examples "$examples" \
  --seed "$seed" \
  --generation-database none \
  --request-timeout 30 \
  --workers 1 \
  --no-color \
  --report junit,ndjson --report-dir "$report_dir" || status=$?
echo "fuzz: schemathesis took $((SECONDS - started)) s" >&2

# --- 4. the server must still be up, and must not have panicked -------------------------------
if ! kill -0 "$server" 2>/dev/null; then
  echo "fuzz: FAILED: the server died during the run (log: $log)" >&2
  tail -n 40 "$log" >&2
  status=1
fi
stop_server
trap - EXIT
if grep -n -i -E "panicked|panic" "$log" >&2; then
  echo "fuzz: FAILED: the server panicked (log: $log)" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "fuzz: FAILED (reports in $report_dir)" >&2
else
  echo "fuzz: passed (reports in $report_dir)" >&2
fi
exit "$status"
