#!/usr/bin/env bash
# The run command: installs what a fresh Debian/Ubuntu machine lacks, builds careband and serves
# Norfolk and Bristol from the embedded geodata/ on http://127.0.0.1:8080 (extra arguments go
# to `careband serve`, e.g. --listen 0.0.0.0:8080). The price band identification tool page is
# at / ; its map library comes from npm (scripts/web-deps.sh) and is compiled in.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/web-deps.sh || echo "careband: the map library could not be installed: the page will work without its map" >&2
cargo run --locked --release -- serve "$@"
