#!/usr/bin/env bash
# Makes a release in dist/:
#   careband-<version>-x86_64-linux             the release binary, stripped
#   careband-<version>.data-manifest.toml       the embedded dataset's manifest: its version and
#                                               the SHA-256 of every data file
#   SHA256SUMS                                  checksums of both (sha256sum -c SHA256SUMS)
# The version is Cargo.toml's. Options:
#   --image   also build the container image careband:<version> (scripts/build-image.sh)
#   --tag     also make the annotated git tag v<version>; only on a clean tree, never pushed
set -euo pipefail
cd "$(dirname "$0")/.."

image=0
tag=0
for a in "$@"; do
  case "$a" in
    --image) image=1 ;;
    --tag) tag=1 ;;
    *)
      echo "careband: unknown option $a (use --image, --tag)" >&2
      exit 2
      ;;
  esac
done

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
[ -n "$version" ] || { echo "careband: no version in Cargo.toml" >&2; exit 2; }
if [ "$tag" = 1 ]; then
  if [ -n "$(git status --porcelain)" ]; then
    echo "careband: the tree has uncommitted changes: not tagging v$version" >&2
    exit 2
  fi
  if git rev-parse -q --verify "refs/tags/v$version" >/dev/null; then
    echo "careband: tag v$version exists already" >&2
    exit 2
  fi
fi

scripts/install-deps.sh binutils
scripts/web-deps.sh
cargo build --locked --release
bin="${CARGO_TARGET_DIR:-target}/release/careband"
# `careband --version` is "careband 0.1.0 (dataset ..., schemes ...)": the binary's version first.
built="$("$bin" --version)"
case "$built" in
  "careband $version"|"careband $version "*) ;;
  *) echo "careband: built $built, expected $version" >&2; exit 2 ;;
esac

mkdir -p dist
name="careband-$version-x86_64-linux"
strip --strip-all -o "dist/$name" "$bin"
cp dist/"$name" dist/careband
cp geodata/manifest.toml "dist/careband-$version.data-manifest.toml"
(cd dist && sha256sum "$name" "careband-$version.data-manifest.toml" >SHA256SUMS)
data_version="$(sed -n 's/^version = "\(.*\)"$/\1/p' geodata/manifest.toml)"
echo "careband: dist/$name ($(stat -c %s "dist/$name") bytes), dataset $data_version" >&2
cat dist/SHA256SUMS >&2

if [ "$image" = 1 ]; then
  IMAGE="careband:$version" CAREBAND_BIN="$bin" scripts/build-image.sh
fi
if [ "$tag" = 1 ]; then
  git tag -a "v$version" -m "careband $version (dataset $data_version)"
  echo "careband: tagged v$version (not pushed)" >&2
fi
