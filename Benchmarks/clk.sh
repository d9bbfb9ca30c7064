#!/usr/bin/env bash
# CLK comparison speed (docs/pprl.md, section 6): `concord bench clk` compares every pair of
# synthetic concord-clk/1 encodings (Dice on 1024-bit filters, the hub's fuzzy pass) on one core
# and on all, then anonlink (PyPI, installed into bench-output/anonlink-venv on first use) compares
# the same encodings on one core; prints both rates and their ratio.
#
#   bash Benchmarks/clk.sh [--records N]     (default 10,000 on each side: 10^8 comparisons)
#
# Results: bench-output/clk.txt. Needs the release binary (make bench builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
CONCORD=${CONCORD:-.build/release/concord}
RECORDS=10000
while (($#)); do
    case "$1" in
        --records) RECORDS=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ -x $CONCORD ]] || { echo "no release binary at $CONCORD: run 'make bench' (or swift build -c release)" >&2; exit 1; }
OUT=bench-output
mkdir -p "$OUT"
VENV=$OUT/anonlink-venv
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import anonlink' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet anonlink
fi
"$CONCORD" bench clk --left "$RECORDS" --right "$RECORDS" --write-filters "$OUT/clk-filters.txt" | tee "$OUT/clk.txt"
"$VENV/bin/python" Benchmarks/clk_anonlink.py "$OUT/clk-filters.txt" 0.8 | tee -a "$OUT/clk.txt"
python3 - "$OUT/clk.txt" <<'PY' | tee -a "$OUT/clk.txt"
import re, sys
text = open(sys.argv[1]).read()
swift = float(re.search(r"^clk: one core: ([\d.]+)", text, re.M).group(1))
anon = float(re.search(r"^anonlink: one core: ([\d.]+)", text, re.M).group(1))
kept_swift = int(re.search(r"^clk: .* (\d+) pairs kept", text, re.M).group(1))
kept_anon = int(re.search(r"^anonlink: .* (\d+) pairs kept", text, re.M).group(1))
print(f"ratio: Concord / anonlink, one core: {swift / anon:.2f}")
if kept_swift != kept_anon:
    sys.exit(f"the two kept different numbers of pairs ({kept_swift} and {kept_anon})")
PY
