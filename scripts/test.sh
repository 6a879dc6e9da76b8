#!/usr/bin/env bash
# The test command: installs what a fresh Debian/Ubuntu machine lacks, then runs every test
# (unit, doc, API, CLI and data tests) against the embedded geodata/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo test --locked --release "$@"
