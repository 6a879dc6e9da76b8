#!/usr/bin/env bash
# Lints an OpenAPI document (default: the one a built careband prints, fetched by
# scripts/client-test.sh) with Redocly's recommended rules and Spectral's spectral:oas, and
# generates TypeScript types from it with openapi-typescript, compiled with tsc --noEmit.
# Fails on any error; warnings are printed.
#
# The tools are pinned in scripts/openapi-tools/package-lock.json and installed with npm ci
# into a folder outside the repository (OPENAPI_TOOLS, default ~/.cache/careband/openapi-tools),
# once per lock file.
set -euo pipefail
cd "$(dirname "$0")/.."
doc="$(realpath "${1:?usage: scripts/openapi-lint.sh openapi.json}")"

if ! command -v npm >/dev/null 2>&1; then
  scripts/install-deps.sh nodejs npm
fi
tools="${OPENAPI_TOOLS:-$HOME/.cache/careband/openapi-tools}"
if ! cmp -s scripts/openapi-tools/package-lock.json "$tools/.careband-lock" 2>/dev/null; then
  echo "openapi-lint: installing the pinned linters (npm ci)" >&2
  mkdir -p "$tools"
  cp scripts/openapi-tools/package.json scripts/openapi-tools/package-lock.json "$tools/"
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >&2)
  cp scripts/openapi-tools/package-lock.json "$tools/.careband-lock"
fi
bin="$tools/node_modules/.bin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "openapi-lint: Redocly (recommended)" >&2
# The document is written to a file first so that Redocly sees a .json name.
cp "$doc" "$work/openapi.json"
"$bin/redocly" lint --extends recommended --format stylish "$work/openapi.json"

echo "openapi-lint: Spectral (spectral:oas)" >&2
printf 'extends: ["spectral:oas"]\n' >"$work/.spectral.yaml"
"$bin/spectral" lint --ruleset "$work/.spectral.yaml" --fail-severity error "$work/openapi.json"

echo "openapi-lint: openapi-typescript, then tsc --noEmit" >&2
"$bin/openapi-typescript" "$work/openapi.json" --output "$work/careband.d.ts" >&2
cat >"$work/check.ts" <<'TS'
import type { components, paths } from "./careband";
type Lookup = paths["/v1/lookup"]["get"]["responses"][200]["content"]["application/json"];
type Near = components["schemas"]["NearestPostcodes"];
export const kind = (a: Lookup): string => a.kind;
export const first = (n: Near): string | undefined => n.postcodes[0]?.postcode;
TS
"$bin/tsc" --noEmit --strict --target es2020 --module es2020 --moduleResolution node "$work/check.ts"
echo "openapi-lint: passed" >&2
