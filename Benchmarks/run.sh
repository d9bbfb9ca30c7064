#!/usr/bin/env bash
# The pseudonymise benchmark: `concord pseudonymise` against the plain Python 3 baseline
# (Benchmarks/pseudonymise_baseline.py, the same spec, the same output) on the same synthetic
# extract, on this machine, in one run. Also the HMAC paths (`concord bench hmac`) and peak memory
# at two input sizes, to show it does not grow with the input.
#
#   Benchmarks/run.sh [--rows N] [--large-rows N] [--baseline-rows N]
#
# Defaults: 1,000,000 rows for both tools; 5,000,000 rows for the memory check (Concord only).
# --baseline-rows runs Python on the first N rows only (its rows/s is what counts); the outputs of
# both tools on those rows are compared byte for byte. Results: bench-output/results.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ROWS=1000000
LARGE_ROWS=5000000
BASELINE_ROWS=""
while (($#)); do
    case "$1" in
        --rows) ROWS=$2; shift 2 ;;
        --large-rows) LARGE_ROWS=$2; shift 2 ;;
        --baseline-rows) BASELINE_ROWS=$2; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
BASELINE_ROWS=${BASELINE_ROWS:-$ROWS}

CONCORD=${CONCORD:-.build/release/concord}
OUT=bench-output
SCHEMA=Schemas/datasets/csc_referrals.yaml
TIME=/usr/bin/time
[[ -x $CONCORD ]] || { echo "no release binary at $CONCORD: run 'make bench' (or swift build -c release)" >&2; exit 1; }
[[ -x $TIME ]] || { echo "GNU time is missing: run scripts/install-deps.sh" >&2; exit 1; }
mkdir -p "$OUT"
rm -f "$OUT"/*.csv "$OUT"/*.log
[[ -f $OUT/linkage.key ]] || "$CONCORD" keys new-linkage-key --out "$OUT/linkage.key" >/dev/null

# Seconds and peak RSS (KiB) of a command, from GNU time.
measure() { # log-file command...
    local log=$1; shift
    "$TIME" -f '%e %M' -o "$log" "$@"
    read -r SECONDS_TAKEN PEAK_KIB < "$log"
}

echo "== synthetic extract: csc_referrals, $ROWS rows"
"$CONCORD" synth --seed 1 --dataset csc_referrals --rows "$ROWS" --out "$OUT/data" 2>/dev/null
INPUT=$OUT/data/csc_referrals.csv
ls -l "$INPUT"

echo "== HMAC paths"
"$CONCORD" bench hmac | tee "$OUT/hmac.txt"

echo "== concord pseudonymise, $ROWS rows"
measure "$OUT/concord.time" "$CONCORD" pseudonymise --schema "$SCHEMA" --key "$OUT/linkage.key" \
    --in "$INPUT" --out "$OUT/concord.csv" --rejects "$OUT/concord.rejects.csv" 2> "$OUT/concord.log"
CONCORD_SECONDS=$SECONDS_TAKEN; CONCORD_KIB=$PEAK_KIB
cat "$OUT/concord.log"

echo "== Python baseline, $BASELINE_ROWS rows"
BASELINE_INPUT=$INPUT
if [[ $BASELINE_ROWS != "$ROWS" ]]; then
    # Cut at a record boundary (fields may hold line breaks) with Python's own csv module.
    BASELINE_INPUT=$OUT/data/baseline-input.csv
    python3 - "$INPUT" "$BASELINE_INPUT" "$BASELINE_ROWS" <<'PY'
import csv, sys
source, target, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(source, newline="", encoding="utf-8-sig") as f, open(target, "w", newline="", encoding="utf-8") as g:
    writer = csv.writer(g, lineterminator="\n")
    for index, row in enumerate(csv.reader(f)):
        if index > rows:
            break
        writer.writerow(row)
PY
    "$CONCORD" pseudonymise --schema "$SCHEMA" --key "$OUT/linkage.key" --in "$BASELINE_INPUT" \
        --out "$OUT/concord-subset.csv" --rejects "$OUT/concord-subset.rejects.csv" 2>/dev/null
fi
measure "$OUT/python.time" python3 Benchmarks/pseudonymise_baseline.py --schema "$SCHEMA" --key "$OUT/linkage.key" \
    --in "$BASELINE_INPUT" --out "$OUT/python.csv" --rejects "$OUT/python.rejects.csv" 2> "$OUT/python.log"
PYTHON_SECONDS=$SECONDS_TAKEN; PYTHON_KIB=$PEAK_KIB
cat "$OUT/python.log"
SAME_OUTPUT=$([[ $BASELINE_ROWS == "$ROWS" ]] && cmp -s "$OUT/concord.csv" "$OUT/python.csv" && echo yes \
    || { cmp -s "$OUT/concord-subset.csv" "$OUT/python.csv" && echo yes || echo NO; })

echo "== memory at $LARGE_ROWS rows (concord only)"
"$CONCORD" synth --seed 2 --dataset csc_referrals --rows "$LARGE_ROWS" --out "$OUT/large" 2>/dev/null
measure "$OUT/large.time" "$CONCORD" pseudonymise --schema "$SCHEMA" --key "$OUT/linkage.key" \
    --in "$OUT/large/csc_referrals.csv" --out "$OUT/large.csv" 2> "$OUT/large.log"
LARGE_SECONDS=$SECONDS_TAKEN; LARGE_KIB=$PEAK_KIB
cat "$OUT/large.log"
rm -rf "$OUT/large" "$OUT/large.csv" "$OUT"/large.rejects.csv

python3 - "$ROWS" "$CONCORD_SECONDS" "$CONCORD_KIB" "$BASELINE_ROWS" "$PYTHON_SECONDS" "$PYTHON_KIB" \
    "$LARGE_ROWS" "$LARGE_SECONDS" "$LARGE_KIB" "$SAME_OUTPUT" "$(nproc)" <<'PY' | tee "$OUT/results.md"
import sys
rows, cs, ck, brows, ps, pk, lrows, ls, lk, same, cores = sys.argv[1:]
rows, brows, lrows = int(rows), int(brows), int(lrows)
crate, prate, lrate = rows / float(cs), brows / float(ps), lrows / float(ls)
print("| run | rows | seconds | rows/s | peak memory |")
print("| --- | ---: | ---: | ---: | ---: |")
print(f"| concord pseudonymise | {rows:,} | {float(cs):.2f} | {crate:,.0f} | {int(ck)/1024:.1f} MiB |")
print(f"| Python baseline | {brows:,} | {float(ps):.2f} | {prate:,.0f} | {int(pk)/1024:.1f} MiB |")
print(f"| concord pseudonymise | {lrows:,} | {float(ls):.2f} | {lrate:,.0f} | {int(lk)/1024:.1f} MiB |")
print()
print(f"Ratio: concord is {crate / prate:.1f}x the Python baseline's rows per second ({cores} cores; target 10x).")
print(f"Identical output bytes on the same rows: {same}.")
print(f"Peak memory: {int(ck)/1024:.1f} MiB at {rows:,} rows, {int(lk)/1024:.1f} MiB at {lrows:,} rows (target under 64 MiB).")
PY
