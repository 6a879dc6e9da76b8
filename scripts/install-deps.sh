#!/usr/bin/env bash
# Installs the system packages careband needs to build on a fresh Debian/Ubuntu machine.
#
# The `proj` crate needs PROJ >= 9.6.2. Debian 12 ships 9.1.1, so `proj-sys` compiles PROJ from
# source: that needs cmake, a C++ compiler, SQLite (library and the `sqlite3` tool that builds
# proj.db) and pkg-config. Safe to run again: it installs only what is missing.
set -euo pipefail

packages=(cmake g++ make pkg-config libsqlite3-dev sqlite3 "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "careband: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
