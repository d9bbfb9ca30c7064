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
# Who sends each dataset, and the agreement it is shared under in this demo (Agreements/).
declare -A AGENCY=([csc_referrals]=essex-childrens-services [school_attendance]=colne-estuary-trust
                   [police_da_incidents]=essex-police [housing_cases]=colchester-housing)
declare -A AGREEMENT=([csc_referrals]=early-help-domestic-abuse [school_attendance]=school-readiness
                      [police_da_incidents]=early-help-domestic-abuse [housing_cases]=early-help-domestic-abuse)

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

echo "Concord foundation demo: $PEOPLE people, seed $SEED, binary $CONCORD, output in $OUT/"

step "1/7 schema check: Schemas/datasets/*.yaml"
shopt -s nullglob
schemas=(Schemas/datasets/*.yaml)
shopt -u nullglob
((${#schemas[@]} > 0)) || die "no schemas in Schemas/datasets/"
"$CONCORD" schema check "${schemas[@]}"

step "2/7 agreement lint: Agreements/"
"$CONCORD" agreement lint Agreements/

step "3/7 linkage key: $OUT/keys/linkage.key"
if [[ -s "$OUT/keys/linkage.key" ]]; then
    echo "reusing the existing key (delete $OUT/keys to make a new one)"
else
    mkdir -p "$OUT/keys"
    chmod 700 "$OUT/keys"
    "$CONCORD" keys new-linkage-key --out "$OUT/keys/linkage.key"
fi

step "4/7 synthetic extracts: $OUT/extracts/"
mkdir -p "$OUT/extracts"
"$CONCORD" synth --seed "$SEED" --people "$PEOPLE" --out "$OUT/extracts"
for d in "${DATASETS[@]}" truth; do
    [[ -f "$OUT/extracts/$d.csv" ]] || die "synth did not write $OUT/extracts/$d.csv"
done

step "5/7 pseudonymise at the agencies, keeping only what each agreement permits: $OUT/pseudonymised/"
mkdir -p "$OUT/pseudonymised" "$OUT/rejects"
declare -A SUMMARY
for d in "${DATASETS[@]}"; do
    current_step="5/7 pseudonymise $d"
    "$CONCORD" pseudonymise \
        --schema "Schemas/datasets/$d.yaml" \
        --agreement "${AGREEMENT[$d]}" --agency "${AGENCY[$d]}" \
        --key "$OUT/keys/linkage.key" \
        --in "$OUT/extracts/$d.csv" \
        --out "$OUT/pseudonymised/$d.csv" \
        --rejects "$OUT/rejects/$d.csv" 2> "$OUT/pseudonymise-$d.log" || { cat "$OUT/pseudonymise-$d.log" >&2; false; }
    cat "$OUT/pseudonymise-$d.log"
    SUMMARY[$d]=$(grep -o 'read [0-9]* rows, wrote [0-9]*, rejected [0-9]*' "$OUT/pseudonymise-$d.log")
done

step "6/7 the hub's check: no column, pseudonym or value finer than each agreement allows"
for d in "${DATASETS[@]}"; do
    current_step="6/7 check $d"
    "$CONCORD" hub check-extract --schema "Schemas/datasets/$d.yaml" --in "$OUT/pseudonymised/$d.csv" \
        --agreement "${AGREEMENT[$d]}" --agency "${AGENCY[$d]}"
done

step "7/7 summary"
printf '%-22s %-28s %8s %8s %8s %8s\n' dataset agreement "rows in" "out" rejected columns
for d in "${DATASETS[@]}"; do
    read -r _ rows_in _ _ rows_out _ rejected <<< "${SUMMARY[$d]//,/}"
    columns=$(head -n 1 "$OUT/pseudonymised/$d.csv" | tr ',' '\n' | wc -l)
    printf '%-22s %-28s %8s %8s %8s %8s\n' "$d" "${AGREEMENT[$d]}" "$rows_in" "$rows_out" "$rejected" "$columns"
done

sample="${DATASETS[0]}"
echo
echo "First 3 lines of $OUT/extracts/$sample.csv (what the agency holds):"
head -n 3 "$OUT/extracts/$sample.csv" | cut -c1-160
echo
echo "First 3 lines of $OUT/pseudonymised/$sample.csv (what leaves it under ${AGREEMENT[$sample]}: match keys and permitted fields, generalised):"
head -n 3 "$OUT/pseudonymised/$sample.csv" | cut -c1-160

echo
echo "Files:"
echo "  linkage key (secret, stays at the agencies): $OUT/keys/linkage.key"
echo "  raw synthetic extracts + truth.csv:          $OUT/extracts/"
echo "  pseudonymised extracts (what the hub sees):  $OUT/pseudonymised/"
echo "  rejected rows (line, field, reason):         $OUT/rejects/"
current_step="done"
echo
echo "demo: ok"
