#!/usr/bin/env bash
# Rebuilds the committed geodata/ folder from the open data files.
#
# Usage: scripts/build-geodata.sh [OPENDATA_DIR]
#   OPENDATA_DIR defaults to ../shared/opendata (relative to the repository root).
#
# The import is deterministic: the same open data gives byte-identical files, and
# geodata/manifest.toml records the SHA-256 of each one. geodata/schemes/ is not touched.
set -euo pipefail

cd "$(dirname "$0")/.."
opendata="${1:-../shared/opendata}"

scripts/install-deps.sh
cargo run --release --quiet -- import --opendata "$opendata" --out geodata
du -sh geodata
