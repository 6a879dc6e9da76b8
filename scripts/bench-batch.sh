#!/usr/bin/env bash
# Batch-mode benchmark: times `careband batch` on one million real postcodes and measures its
# peak memory on 100k and 1M rows (it should be flat: batch mode streams).
#
# The input is generated deterministically (no randomness) from geodata/postcodes/postcodes.csv
# (the NR, IP, PE and BS postcodes careband ships, live and terminated), repeated in a fixed
# stride order and mixed with a fixed sprinkle of rows a real file has: lower-case and unspaced
# postcodes, garbage, partial postcodes, blank lines and quoted fields holding the delimiter.
#
# Usage: scripts/bench-batch.sh            (inputs and outputs go to a cache directory)
#        BENCH_DIR=/some/dir RUNS=10 scripts/bench-batch.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh hyperfine time

dir="${BENCH_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/careband/bench-batch}"
runs="${RUNS:-5}"
date_arg="--date 2019-05-01"
mkdir -p "$dir"

# gen ROWS FILE: ROWS data rows after a header. Row i uses postcode number (i * 7919) mod n of
# the table, so consecutive rows jump across areas; every variant is chosen by i alone.
gen() {
  awk -F, -v rows="$1" '
    NR == 1 { next }
    { pc[n++] = $1 }
    END {
      print "id,name,postcode,notes"
      for (i = 0; i < rows; i++) {
        p = pc[(i * 7919) % n]
        if (i % 1000 == 500) { print ""; continue }              # blank line
        if (i % 1000 == 13) p = "N0T A P0STC0DE"                 # garbage
        else if (i % 1000 == 777) p = substr(p, 1, index(p, " ") - 1)  # partial (district)
        else if (i % 50 == 7) p = tolower(p)                     # lower case
        else if (i % 50 == 9) sub(/ /, "", p)                    # no space
        notes = (i % 10 == 3) ? "\"Flat 2, \"\"The Old Mill\"\"\"" : ""
        printf "%d,Client %d,%s,%s\n", i + 1, i + 1, p, notes
      }
    }' geodata/postcodes/postcodes.csv > "$2"
}

for rows in 100000 1000000; do
  f="$dir/batch-$rows.csv"
  [ -s "$f" ] || gen "$rows" "$f"
done

cargo build --release --locked --quiet
bin="${CARGO_TARGET_DIR:-target}/release/careband"
in1m="$dir/batch-1000000.csv"

echo "== input: $(wc -l < "$in1m") lines, $(du -h "$in1m" | cut -f1) (sha256 $(sha256sum "$in1m" | cut -c1-16))"
echo "== machine: $(nproc) cores, $(uname -m)"

hyperfine --warmup 1 --runs "$runs" \
  --command-name "batch 1M rows, all cores" \
  "$bin batch $in1m -o $dir/out-1m.csv --force $date_arg" \
  --command-name "batch 1M rows, --threads 1" \
  "$bin batch $in1m -o $dir/out-1m-t1.csv --force --threads 1 $date_arg"

cmp "$dir/out-1m.csv" "$dir/out-1m-t1.csv" && echo "== 1 thread and all cores give byte-identical output"

echo "== the summary of the 1M-row run:"
"$bin" batch "$in1m" -o "$dir/out-1m.csv" --force $date_arg

for rows in 100000 1000000; do
  rss=$(/usr/bin/time -v "$bin" batch "$dir/batch-$rows.csv" -o "$dir/out-$rows.csv" --force \
    $date_arg 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ { print $2 }')
  echo "== peak RSS, $rows rows: $((rss / 1024)) MiB"
done
