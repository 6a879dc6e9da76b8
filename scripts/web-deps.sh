#!/usr/bin/env bash
# Installs the web page's npm packages (the Leaflet map library, Swagger UI for the /docs page,
# and playwright-core for the browser tests) into web/node_modules with `npm ci`, exactly as
# web/package-lock.json pins them. The build embeds Leaflet and Swagger UI when they are there;
# without them the page works without its map and /docs links to the bare document.
#
# Safe to run again: it does nothing when web/node_modules already matches the lock file.
# Installs Node.js and npm from Debian when there is no npm at all.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
  scripts/install-deps.sh nodejs npm
fi
stamp=web/node_modules/.careband-lock
if [ -f "$stamp" ] && cmp -s web/package-lock.json "$stamp"; then
  exit 0
fi
echo "careband: installing the web page's npm packages (npm ci in web/)" >&2
(cd web && npm ci --no-audit --no-fund --loglevel=error >&2)
cp web/package-lock.json "$stamp"
