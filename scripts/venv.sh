# Sourced by the scripts that run a pinned Python tool (scripts/fuzz.sh, scripts/client-test.sh).
#
# careband_venv DIR REQUIREMENTS: makes the virtualenv DIR (outside the clone) and installs the
# pinned REQUIREMENTS into it, again only when the requirements file has changed since (a copy
# of it is kept in DIR as the stamp).
careband_venv() {
  local venv="$1" requirements="$2"
  local stamp="$venv/.careband-requirements"
  if cmp -s "$requirements" "$stamp" 2>/dev/null; then
    return 0
  fi
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    # Debian and Ubuntu ship venv (and ensurepip) separately from python3.
    rm -rf "$venv"
    scripts/install-deps.sh python3-venv
    python3 -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
}
