#!/usr/bin/env bash
# The run command: installs what a fresh Debian/Ubuntu machine lacks, builds careband and serves
# Norfolk and Bristol from the embedded geodata/ on http://127.0.0.1:8080 (extra arguments go
# to `careband serve`, e.g. --listen 0.0.0.0:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo run --locked --release -- serve "$@"
