# Helpers sourced by the scripts that start a server and run a tool against it
# (scripts/fuzz.sh, scripts/client-test.sh, scripts/loadtest.sh, scripts/bench-http.sh).
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

# careband_port LOG PID NAME: waits for the server PID (started with --listen 127.0.0.1:0) to
# log the port it got, and prints it; fails, showing the log, if the server exits first or
# never says (within 60 s). NAME heads the messages.
careband_port() {
  local log="$1" pid="$2" name="$3" port=""
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "$name: the server did not start" >&2; return 1; }
    port="$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)"
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.2
  done
  echo "$name: the server never said where it listens" >&2
  return 1
}

# careband_postcodes COUNT MATCH: prints up to COUNT live postcodes with a position from
# geodata/postcodes/postcodes.csv whose code matches the awk regex MATCH (empty: any), every
# 7th or 11th in file order: a fixed pseudo-random list, the same every run.
careband_postcodes() {
  awk -F, -v n="$1" -v m="$2" '
    NR == 1 { for (c = 1; c <= NF; c++) col[$c] = c; next }
    $col["status"] == "live" && $col["lat"] != "" && $col["postcode"] ~ m && (++live % 7 == 3 || live % 11 == 5) {
      print $col["postcode"]
      if (++k >= n) exit
    }
  ' geodata/postcodes/postcodes.csv
}
