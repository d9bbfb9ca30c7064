#!/usr/bin/env bash
# The foundation demo: check the dataset schemas, make a linkage key, synthesise four
# agency extracts, pseudonymise each one at "the agency", and summarise what came out.
#
# Usage: scripts/demo.sh [--people N] [--seed N]
#   CONCORD=path   the concord binary (default .build/release/concord; `make release`)
# Everything is written under demo-output/; running it again reuses the linkage key.
set -Eeuo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CONCORD="${CONCORD:-.build/release/concord}"
PEOPLE=5000
SEED=42
OUT=demo-output
DATASETS=(csc_referrals school_attendance police_da_incidents housing_cases)

usage() { echo "usage: $0 [--people N] [--seed N]   (CONCORD=path to override the binary)" >&2; }
die() { echo "demo: FAILED at step: ${current_step:-setup}: $*" >&2; exit 1; }

while (($# > 0)); do
    case "$1" in
        --people) (($# >= 2)) || { usage; exit 2; }; PEOPLE="$2"; shift 2 ;;
        --people=*) PEOPLE="${1#*=}"; shift ;;
        --seed) (($# >= 2)) || { usage; exit 2; }; SEED="$2"; shift 2 ;;
        --seed=*) SEED="${1#*=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "demo: unknown argument: $1" >&2; usage; exit 2 ;;
    esac
done
[[ "$PEOPLE" =~ ^[0-9]+$ && "$PEOPLE" -gt 0 ]] || die "--people must be a positive integer, got '$PEOPLE'"
[[ "$SEED" =~ ^[0-9]+$ ]] || die "--seed must be a non-negative integer, got '$SEED'"

current_step="setup"
trap 'rc=$?; echo "demo: FAILED at step: $current_step (exit $rc)" >&2; exit $rc' ERR

step() {
    current_step="$1"
    printf '\n==> %s\n' "$1"
}

[[ -x "$CONCORD" ]] || die "concord binary not found at $CONCORD (build it with 'make release', or set CONCORD=path)"
command -v python3 >/dev/null 2>&1 || die "python3 not found (scripts/install-deps.sh installs it)"

# Data records in a CSV file (RFC 4180 quoting, so quoted newlines count once), not
# counting the header row. A missing or empty file counts 0.
csv_records() {
    python3 - "$1" <<'PY'
import csv, sys
try:
    with open(sys.argv[1], newline="", encoding="utf-8") as f:
        n = sum(1 for _ in csv.reader(f))
except FileNotFoundError:
    n = 0
print(max(n - 1, 0))
PY
}

echo "Concord foundation demo: $PEOPLE people, seed $SEED, binary $CONCORD, output in $OUT/"

step "1/5 schema check: Schemas/datasets/*.yaml"
shopt -s nullglob
schemas=(Schemas/datasets/*.yaml)
shopt -u nullglob
((${#schemas[@]} > 0)) || die "no schemas in Schemas/datasets/"
"$CONCORD" schema check "${schemas[@]}"

step "2/5 linkage key: $OUT/keys/linkage.key"
if [[ -s "$OUT/keys/linkage.key" ]]; then
    echo "reusing the existing key (delete $OUT/keys to make a new one)"
else
    mkdir -p "$OUT/keys"
    chmod 700 "$OUT/keys"
    "$CONCORD" keys new-linkage-key --out "$OUT/keys/linkage.key"
fi

step "3/5 synthetic extracts: $OUT/extracts/"
mkdir -p "$OUT/extracts"
"$CONCORD" synth --seed "$SEED" --people "$PEOPLE" --out "$OUT/extracts"
for d in "${DATASETS[@]}" truth; do
    [[ -f "$OUT/extracts/$d.csv" ]] || die "synth did not write $OUT/extracts/$d.csv"
done

step "4/5 pseudonymise at the agencies: $OUT/pseudonymised/, rejects in $OUT/rejects/"
mkdir -p "$OUT/pseudonymised" "$OUT/rejects"
for d in "${DATASETS[@]}"; do
    current_step="4/5 pseudonymise $d"
    echo "-- $d"
    "$CONCORD" pseudonymise \
        --schema "Schemas/datasets/$d.yaml" \
        --key "$OUT/keys/linkage.key" \
        --in "$OUT/extracts/$d.csv" \
        --out "$OUT/pseudonymised/$d.csv" \
        --rejects "$OUT/rejects/$d.csv"
    [[ -f "$OUT/pseudonymised/$d.csv" ]] || die "pseudonymise did not write $OUT/pseudonymised/$d.csv"
done

step "5/5 summary"
printf '%-22s %10s %10s %10s\n' dataset "rows in" "rows out" rejects
for d in "${DATASETS[@]}"; do
    rows_in="$(csv_records "$OUT/extracts/$d.csv")"
    rows_out="$(csv_records "$OUT/pseudonymised/$d.csv")"
    rejects="$(csv_records "$OUT/rejects/$d.csv")"
    note=""
    ((rows_in == rows_out + rejects)) || note="  (in != out + rejects)"
    printf '%-22s %10s %10s %10s%s\n' "$d" "$rows_in" "$rows_out" "$rejects" "$note"
done

sample="${DATASETS[0]}"
echo
echo "First 3 lines of $OUT/pseudonymised/$sample.csv (identifiers replaced by match keys: no names or dates of birth):"
head -n 3 "$OUT/pseudonymised/$sample.csv"

echo
echo "Files:"
echo "  linkage key (secret, stays at the agencies): $OUT/keys/linkage.key"
echo "  raw synthetic extracts + truth.csv:          $OUT/extracts/"
echo "  pseudonymised extracts (what the hub sees):  $OUT/pseudonymised/"
echo "  rejected rows:                               $OUT/rejects/"
current_step="done"
echo
echo "demo: ok"
