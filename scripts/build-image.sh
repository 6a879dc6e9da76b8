#!/usr/bin/env bash
# Builds careband's container image with podman from deploy/Dockerfile, without any image
# registry:
#   1. a Debian bookworm base made from Debian's packages with debootstrap (minbase, plus
#      SQLite and the CA certificates the binary needs), imported as localhost/careband-base:bookworm
#      (made once; BASE_REBUILD=1 makes it again);
#   2. the release binary built on this machine (cargo build --locked --release), stripped into
#      dist/careband, and the Dockerfile's runtime stage built with BINARY_FROM=prebuilt. (Its
#      builder stage needs a Rust >= 1.90 image, which only a registry has.)
#   3. the image started, and its health check (careband healthcheck on /healthz) run with
#      `podman healthcheck run` until it passes; then stopped.
# Prints the image's size. Settings (environment):
#   IMAGE=careband:dev          the tag to build
#   MIRROR=http://deb.debian.org/debian   the Debian mirror debootstrap uses
#   CAREBAND_BIN=path           a release binary already built (skips cargo)
#   SKIP_RUN=1                  build only, do not start the image
#   PODMAN_RUNTIME=runc         the OCI runtime (crun refuses a host with hybrid cgroups v1/v2)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh podman buildah debootstrap binutils runc

# podman's default ulimits (1048576 open files and processes) cannot be set by a root without
# CAP_SYS_RESOURCE (as in some virtual machines and nested containers): ask for limits under
# the usual hard ones. 8192 open files fit the server's connection cap (4096) and reserve.
oci=(--runtime "${PODMAN_RUNTIME:-runc}" --ulimit nofile=8192:8192 --ulimit nproc=4096:4096)

image="${IMAGE:-careband:dev}"
base=localhost/careband-base:bookworm
mirror="${MIRROR:-http://deb.debian.org/debian}"

if [ "${BASE_REBUILD:-0}" = 1 ] || ! podman image exists "$base"; then
  root="$(mktemp -d)"
  trap 'rm -rf "$root"' EXIT
  echo "careband: debootstrap bookworm (minbase) into $root" >&2
  debootstrap --variant=minbase --include=libsqlite3-0,ca-certificates bookworm "$root" "$mirror" >&2
  # Nothing of the package manager's caches or lists, no documentation.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
  tar -C "$root" -c . | podman import \
    --change 'CMD ["/bin/sh"]' --message "Debian bookworm minbase (debootstrap)" - "$base" >/dev/null
  rm -rf "$root"
  trap - EXIT
fi

mkdir -p dist
if [ -z "${CAREBAND_BIN:-}" ]; then
  cargo build --locked --release
  CAREBAND_BIN="${CARGO_TARGET_DIR:-target}/release/careband"
fi
strip --strip-all -o dist/careband "$CAREBAND_BIN"

podman build "${oci[@]}" --format docker -f deploy/Dockerfile --build-arg BASE="$base" --build-arg BINARY_FROM=prebuilt \
  -t "$image" . >&2
size="$(podman image inspect "$image" --format '{{.Size}}')"
echo "careband: image $image: $((size / 1000 / 1000)) MB ($size bytes); binary $(stat -c %s dist/careband) bytes" >&2

if [ "${SKIP_RUN:-0}" = 1 ]; then
  exit 0
fi
name="careband-healthcheck-$$"
podman run "${oci[@]}" -d --rm --name "$name" -p 127.0.0.1::8080 "$image" >/dev/null
trap 'podman stop -t 5 "$name" >/dev/null 2>&1 || true' EXIT
for i in $(seq 1 60); do
  if podman healthcheck run "$name" >/dev/null 2>&1; then
    echo "careband: podman healthcheck run $name: healthy after ${i} tries" >&2
    podman inspect "$name" --format 'careband: health {{.State.Health.Status}}, user {{.Config.User}}' >&2
    exit 0
  fi
  sleep 1
done
podman logs "$name" >&2 || true
echo "careband: the image's health check did not pass in 60 s" >&2
exit 1
