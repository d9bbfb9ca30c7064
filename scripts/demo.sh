#!/usr/bin/env bash
# The whole flow on one machine: check the schemas and agreements, make a linkage key,
# synthesise four agency extracts and pseudonymise them as each agency would, then start a hub
# (with its embedded PostgreSQL), register the agencies and people, apply the agreements, and let
# each agency's agent push its extract: sealed, uploaded, loaded, and acknowledged with a signed
# receipt. An analyst asks for a linked row-level dataset under one agreement and an aggregate
# table under another, an IG officer approves both, the analyst downloads them, the IG officer
# verifies the audit log, and a summary closes. The hub is then left running until Ctrl-C.
#
# Usage: scripts/demo.sh [--people N] [--seed N] [--out DIR] [--exit]
#   --exit         stop the hub at the end instead of leaving it running
#   CONCORD=path   the concord binary (default .build/release/concord; `make release`)
# Everything is written under demo-output/ (or DIR); running it again reuses the linkage key and
# starts the hub afresh.
set -Eeuo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CONCORD="${CONCORD:-.build/release/concord}"
PEOPLE=5000
SEED=42
OUT=demo-output
EXIT_AT_END=0
DATASETS=(csc_referrals school_attendance police_da_incidents housing_cases)
# Who sends each dataset, and the agreements it is shared under in this demo (Agreements/): the
# county's referrals go under both, so only what both permit leaves (docs/agreements.md).
declare -A AGENCY=([csc_referrals]=essex-childrens-services [school_attendance]=colne-estuary-trust
                   [police_da_incidents]=essex-police [housing_cases]=colchester-housing)
declare -A AGREEMENT=([csc_referrals]="early-help-domestic-abuse school-readiness" [school_attendance]=school-readiness
                      [police_da_incidents]=early-help-domestic-abuse [housing_cases]=early-help-domestic-abuse)

usage() { echo "usage: $0 [--people N] [--seed N] [--out DIR] [--exit]   (CONCORD=path to override the binary)" >&2; }
die() { echo "demo: FAILED at step: ${current_step:-setup}: $*" >&2; exit 1; }

while (($# > 0)); do
    case "$1" in
        --people) (($# >= 2)) || { usage; exit 2; }; PEOPLE="$2"; shift 2 ;;
        --people=*) PEOPLE="${1#*=}"; shift ;;
        --seed) (($# >= 2)) || { usage; exit 2; }; SEED="$2"; shift 2 ;;
        --seed=*) SEED="${1#*=}"; shift ;;
        --out) (($# >= 2)) || { usage; exit 2; }; OUT="$2"; shift 2 ;;
        --out=*) OUT="${1#*=}"; shift ;;
        --exit) EXIT_AT_END=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "demo: unknown argument: $1" >&2; usage; exit 2 ;;
    esac
done
[[ "$PEOPLE" =~ ^[0-9]+$ && "$PEOPLE" -gt 0 ]] || die "--people must be a positive integer, got '$PEOPLE'"
[[ "$SEED" =~ ^[0-9]+$ ]] || die "--seed must be a non-negative integer, got '$SEED'"
[[ -n "$OUT" ]] || die "--out must name a folder"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

current_step="setup"
trap 'rc=$?; echo "demo: FAILED at step: $current_step (exit $rc)" >&2; exit $rc' ERR

STEPS=14
step_number=0
step() {
    step_number=$((step_number + 1))
    current_step="$step_number/$STEPS $1"
    printf '\n==> %s  (%d s)\n' "$current_step" "$SECONDS"
}
# RELEASE=(--agreement A … --agency ID): what dataset $1 is shared under, and by whom.
release_flags() { local a; RELEASE=(); for a in ${AGREEMENT[$1]}; do RELEASE+=(--agreement "$a"); done; RELEASE+=(--agency "${AGENCY[$1]}"); }

[[ -x "$CONCORD" ]] || die "concord binary not found at $CONCORD (build it with 'make release', or set CONCORD=path)"

echo "Concord demo: $PEOPLE people, seed $SEED, binary $CONCORD, output in $OUT/"

step "schema check: Schemas/datasets/*.yaml"
shopt -s nullglob
schemas=(Schemas/datasets/*.yaml)
shopt -u nullglob
((${#schemas[@]} > 0)) || die "no schemas in Schemas/datasets/"
"$CONCORD" schema check "${schemas[@]}"

step "agreement lint: Agreements/"
"$CONCORD" agreement lint Agreements/

step "linkage key: $OUT/keys/linkage.key"
if [[ -s "$OUT/keys/linkage.key" ]]; then
    echo "reusing the existing key (delete $OUT/keys to make a new one)"
else
    mkdir -p "$OUT/keys"
    chmod 700 "$OUT/keys"
    "$CONCORD" keys new-linkage-key --out "$OUT/keys/linkage.key"
fi

step "synthetic extracts: $OUT/extracts/"
mkdir -p "$OUT/extracts"
"$CONCORD" synth --seed "$SEED" --people "$PEOPLE" --out "$OUT/extracts"
for d in "${DATASETS[@]}" truth; do
    [[ -f "$OUT/extracts/$d.csv" ]] || die "synth did not write $OUT/extracts/$d.csv"
done

step "pseudonymise at the agencies, keeping only what the agreements permit: $OUT/pseudonymised/"
mkdir -p "$OUT/pseudonymised" "$OUT/rejects"
declare -A SUMMARY
for d in "${DATASETS[@]}"; do
    release_flags "$d"
    "$CONCORD" pseudonymise --schema "Schemas/datasets/$d.yaml" "${RELEASE[@]}" \
        --key "$OUT/keys/linkage.key" --in "$OUT/extracts/$d.csv" \
        --out "$OUT/pseudonymised/$d.csv" --rejects "$OUT/rejects/$d.csv" 2> "$OUT/pseudonymise-$d.log" \
        || { cat "$OUT/pseudonymise-$d.log" >&2; die "pseudonymise $d"; }
    cat "$OUT/pseudonymise-$d.log"
    SUMMARY[$d]=$(grep -o 'read [0-9]* rows, wrote [0-9]*, rejected [0-9]*' "$OUT/pseudonymise-$d.log")
done

step "the hub's check: no column, pseudonym or value finer than the agreements allow"
for d in "${DATASETS[@]}"; do
    release_flags "$d"
    "$CONCORD" hub check-extract --schema "Schemas/datasets/$d.yaml" --in "$OUT/pseudonymised/$d.csv" "${RELEASE[@]}"
done

step "what leaves each agency"
printf '%-22s %-44s %8s %8s %8s %8s\n' dataset "shared under" "rows in" "out" rejected columns
for d in "${DATASETS[@]}"; do
    read -r _ rows_in _ _ rows_out _ rejected <<< "${SUMMARY[$d]//,/}"
    columns=$(head -n 1 "$OUT/pseudonymised/$d.csv" | tr ',' '\n' | wc -l)
    printf '%-22s %-44s %8s %8s %8s %8s\n' "$d" "${AGREEMENT[$d]// /, }" "$rows_in" "$rows_out" "$rejected" "$columns"
done

sample=police_da_incidents
echo
echo "First 3 lines of $OUT/extracts/$sample.csv (what the agency holds):"
head -n 3 "$OUT/extracts/$sample.csv" | cut -c1-160
echo
echo "First 3 lines of $OUT/pseudonymised/$sample.csv (what leaves it: match keys and permitted fields, generalised):"
head -n 3 "$OUT/pseudonymised/$sample.csv" | cut -c1-160

HUB="$OUT/hub"
source scripts/lib-hub.sh
trap hub_stop EXIT

step "the hub: keys, configuration, and concord hub serve on an embedded PostgreSQL"
# The hub, the agencies' keys and state, and the outputs start afresh each run; the linkage key
# and the extracts are reused.
rm -rf "$OUT/agencies" "$OUT/requests" "$OUT/people"
hub_start "$HUB" || die "the hub did not start"
echo "hub ready on $HUB_URL (log: $HUB/serve.log)"
# Every admin command below reads the hub's configuration and records who ran it.
export CONCORD_HUB_CONFIG="$HUB/hub.yaml"
ADMIN=(--as demo-operator)

step "register the four agencies, an analyst and an IG officer; apply the agreements"
for d in "${DATASETS[@]}"; do
    agency="${AGENCY[$d]}"
    "$CONCORD" keys new-agency --id "$agency" --out "$OUT/agencies/$agency/keys" > /dev/null
    "$CONCORD" hub agency add "${ADMIN[@]}" --id "$agency" --name "$agency" \
        --public-key "$(cat "$OUT/agencies/$agency/keys/$agency.agency-signing.pub")"
done
"$CONCORD" hub agency list
# Tokens go to files only their owner can read; the request commands read them from CONCORD_TOKEN_FILE.
mkdir -p "$OUT/people"
(umask 077
 "$CONCORD" hub user add "${ADMIN[@]}" --id n-carrow --role analyst 2> /dev/null > "$OUT/people/n-carrow.token"
 "$CONCORD" hub user add "${ADMIN[@]}" --id i-thackeray --role ig-officer 2> /dev/null > "$OUT/people/i-thackeray.token")
echo "analyst n-carrow and IG officer i-thackeray registered (tokens in $OUT/people/, mode 0600)"
"$CONCORD" agreement apply "${ADMIN[@]}" Agreements/*.yaml

step "each agency's agent pushes its extract: validate, minimise, pseudonymise, seal, upload, verify the receipt"
for d in "${DATASETS[@]}"; do
    agency="${AGENCY[$d]}"
    dir="$OUT/agencies/$agency"
    agreements="${AGREEMENT[$d]}"
    agent_config "$dir/agent.yaml" "$agency" "$d" "$OUT/extracts/$d.csv" "${agreements// /, }" "$OUT/keys/linkage.key"
    "$CONCORD" agent push --config "$dir/agent.yaml"
done
"$CONCORD" agent status --config "$OUT/agencies/${AGENCY[police_da_incidents]}/agent.yaml"

export CONCORD_HUB_URL="$HUB_URL"
analyst() { CONCORD_TOKEN_FILE="$OUT/people/n-carrow.token" "$CONCORD" "$@"; }
officer() { CONCORD_TOKEN_FILE="$OUT/people/i-thackeray.token" "$CONCORD" "$@"; }

step "the analyst asks for a linked row-level dataset under school-readiness and counts under early-help-domestic-abuse"
linked=$(analyst request create --agreement school-readiness --purpose SR-EARLY-YEARS \
    --datasets csc_referrals,school_attendance \
    --fields "csc_referrals.ReferralDate,csc_referrals.ReferralOutcome,school_attendance.Academic Year,school_attendance.Term,school_attendance.Persistent Absence" \
    --justification "Attendance in the early school years of children referred to social care" | cut -d' ' -f1)
counts=$(analyst request create --agreement early-help-domestic-abuse --purpose EH-DA \
    --datasets police_da_incidents,housing_cases --dimensions police_da_incidents.DASH_RISK,housing_cases.domestic_abuse \
    --justification "Does housing record the domestic abuse the police know about?" | cut -d' ' -f1)
analyst request list

step "the IG officer approves both; the analyst downloads them"
officer request approve "$linked" --reason "Within the study's purpose; row-level output to the secure environment"
officer request approve "$counts" --reason "Within the needs assessment's purpose"
mkdir -p "$OUT/requests"
for request in "$linked" "$counts"; do
    analyst request download "$request" --out "$OUT/requests/$request.csv" --report "$OUT/requests/$request.linkage.json" \
        --hub-key "$HUB/keys/hub-signing.pub"
done
echo
echo "First 3 lines of the linked dataset (person ids per agreement, never a match key):"
head -n 3 "$OUT/requests/$linked.csv"
echo
echo "Persons by the police's DASH risk grading and housing's domestic abuse flag (empty: no record there;"
echo "*: all), small cells suppressed, then enough others that none can be worked out from the totals, rounded to 5:"
cat "$OUT/requests/$counts.csv"

step "the IG officer reads and verifies the audit log"
"$CONCORD" audit log "${ADMIN[@]}" --action request.approve --action request.download
"$CONCORD" audit log "${ADMIN[@]}" --format json > "$HUB/audit.json"
# The IG officer keeps a signed checkpoint, then recomputes chain and tree and holds them to it.
"$CONCORD" audit checkpoint "${ADMIN[@]}" --out "$HUB/kept-checkpoint.note"
"$CONCORD" audit verify "${ADMIN[@]}" --hub-key "$HUB/keys/hub-signing.pub" --checkpoint "$HUB/kept-checkpoint.note"
curl -sf -H "Authorization: Bearer $(cat "$OUT/people/i-thackeray.token")" "$HUB_URL/v1/uploads" > "$HUB/uploads.json"

step "summary"
python3 - "$HUB/uploads.json" "$HUB/audit.json" "$OUT/requests" "$linked" "$counts" <<'PY'
import collections, csv, json, sys
uploads_file, audit_file, requests, linked, counts = sys.argv[1:]
print("Rows pushed, per agency (each upload loaded whole and acknowledged by a signed receipt):")
for u in sorted(json.load(open(uploads_file))["uploads"], key=lambda u: u["agency"]):
    r = u.get("receipt", {}).get("receipt", {})
    print(f"  {u['agency']:26} {u['dataset']:20} {r.get('rows_loaded', 0):>7} rows  {u['state']:8}  receipt {r.get('receipt_id', '-')}")
print("Linkage, per agreement: persons found, and the share of one agency's records whose person the other agency knows too:")
for request in (linked, counts):
    r = json.load(open(f"{requests}/{request}.linkage.json"))
    print(f"  {r['agreement']} v{r['agreementVersion']}: {r['persons']} persons from " + ", ".join(f"{d['records']} {d['dataset']}" for d in r["datasets"]) + " records")
    for p in r["pairs"]:
        print(f"    {p['dataset']:20} also in {p['other']:20} {p['records']:>6} records ({p['rate']:.1%})")
print("Outputs downloaded by the analyst:")
for request, what in ((linked, "linked row-level records"), (counts, "aggregate cells and totals")):
    with open(f"{requests}/{request}.csv", newline="") as f:
        rows = sum(1 for _ in csv.reader(f)) - 1
    print(f"  {requests}/{request}.csv: {rows} {what}")
entries = json.load(open(audit_file))
entries = entries.get("entries", entries) if isinstance(entries, dict) else entries
actions = collections.Counter(e["action"] for e in entries)
print(f"Audit log: {len(entries)} entries, hash-chained and verified against a signed checkpoint")
print("  " + ", ".join(f"{a} {n}" for a, n in sorted(actions.items())))
PY

echo
echo "Files:"
echo "  linkage key (secret, stays at the agencies): $OUT/keys/linkage.key"
echo "  raw synthetic extracts + truth.csv:          $OUT/extracts/"
echo "  pseudonymised extracts (what the hub sees):  $OUT/pseudonymised/"
echo "  rejected rows (line, field, reason):         $OUT/rejects/"
echo "  each agency's keys, agent config and state:  $OUT/agencies/"
echo "  the analyst's and IG officer's tokens:       $OUT/people/"
echo "  the hub's keys, config, log and data:        $HUB/"
echo "  the analyst's outputs, linkage reports and"
echo "    audit evidence of each download:           $OUT/requests/"

# Where to look at the running hub.
echo
echo "The hub: $HUB_URL"
echo "  IG dashboard:     $HUB_URL/ig/  (sign in with the token in $OUT/people/i-thackeray.token)"
echo "  public register:  $HUB_URL/register"
echo "  API description:  $HUB_URL/openapi.yaml"
echo "  metrics:          $HUB_URL/metrics"
echo "  audit checkpoint: $HUB_URL/v1/audit/checkpoint"

current_step="done"
echo
echo "demo: ok"
if ((EXIT_AT_END)); then
    hub_stop
else
    echo "The hub keeps running on $HUB_URL (tokens in $OUT/people/; try: CONCORD_HUB_URL=$HUB_URL"
    echo "CONCORD_TOKEN_FILE=$OUT/people/n-carrow.token $CONCORD request list). Ctrl-C stops it."
    trap 'echo; echo "demo: stopping the hub"; hub_stop; exit 0' INT TERM
    wait "$HUB_PID" || true
fi
