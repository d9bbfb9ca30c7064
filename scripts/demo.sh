#!/usr/bin/env bash
# The whole flow on one machine: check the schemas and agreements, make a linkage key,
# synthesise four agency extracts and pseudonymise them as each agency would, then start a hub
# (with its embedded PostgreSQL), register the agencies, apply the agreements, and let each
# agency's agent push its extract: sealed, uploaded, loaded, and acknowledged with a signed receipt.
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

step "1/12 schema check: Schemas/datasets/*.yaml"
shopt -s nullglob
schemas=(Schemas/datasets/*.yaml)
shopt -u nullglob
((${#schemas[@]} > 0)) || die "no schemas in Schemas/datasets/"
"$CONCORD" schema check "${schemas[@]}"

step "2/12 agreement lint: Agreements/"
"$CONCORD" agreement lint Agreements/

step "3/12 linkage key: $OUT/keys/linkage.key"
if [[ -s "$OUT/keys/linkage.key" ]]; then
    echo "reusing the existing key (delete $OUT/keys to make a new one)"
else
    mkdir -p "$OUT/keys"
    chmod 700 "$OUT/keys"
    "$CONCORD" keys new-linkage-key --out "$OUT/keys/linkage.key"
fi

step "4/12 synthetic extracts: $OUT/extracts/"
mkdir -p "$OUT/extracts"
"$CONCORD" synth --seed "$SEED" --people "$PEOPLE" --out "$OUT/extracts"
for d in "${DATASETS[@]}" truth; do
    [[ -f "$OUT/extracts/$d.csv" ]] || die "synth did not write $OUT/extracts/$d.csv"
done

step "5/12 pseudonymise at the agencies, keeping only what each agreement permits: $OUT/pseudonymised/"
mkdir -p "$OUT/pseudonymised" "$OUT/rejects"
declare -A SUMMARY
for d in "${DATASETS[@]}"; do
    current_step="5/12 pseudonymise $d"
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

step "6/12 the hub's check: no column, pseudonym or value finer than each agreement allows"
for d in "${DATASETS[@]}"; do
    current_step="6/12 check $d"
    "$CONCORD" hub check-extract --schema "Schemas/datasets/$d.yaml" --in "$OUT/pseudonymised/$d.csv" \
        --agreement "${AGREEMENT[$d]}" --agency "${AGENCY[$d]}"
done

step "7/12 summary of what leaves each agency"
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

HUB="$OUT/hub"
source scripts/lib-hub.sh
trap hub_stop EXIT

step "8/12 the hub: keys, configuration, and concord hub serve on an embedded PostgreSQL"
# The hub and the agencies' keys and state start afresh each run; the linkage key and extracts are reused.
rm -rf "$OUT/agencies"
hub_start "$HUB" || die "the hub did not start"
echo "hub ready on $HUB_URL (log: $HUB/serve.log)"

step "9/12 register the agencies and an IG officer; apply the agreements"
for d in "${DATASETS[@]}"; do
    agency="${AGENCY[$d]}"
    "$CONCORD" keys new-agency --id "$agency" --out "$OUT/agencies/$agency/keys" > /dev/null
    "$CONCORD" hub agency add --config "$HUB/hub.yaml" --as demo --id "$agency" --name "$agency" \
        --public-key "$(cat "$OUT/agencies/$agency/keys/$agency.agency-signing.pub")"
done
"$CONCORD" agreement apply --config "$HUB/hub.yaml" --as demo Agreements/*.yaml
token=$("$CONCORD" hub user add --config "$HUB/hub.yaml" --as demo --id ig.officer --role ig-officer 2> /dev/null)

step "10/12 each agency's agent pushes its extract: validate, minimise, pseudonymise, seal, upload, verify the receipt"
for d in "${DATASETS[@]}"; do
    agency="${AGENCY[$d]}"
    current_step="10/12 push $d from $agency"
    dir="$OUT/agencies/$agency"
    agent_config "$dir/agent.yaml" "$agency" "$d" "$(pwd)/$OUT/extracts/$d.csv" "${AGREEMENT[$d]}" "$(pwd)/$OUT/keys/linkage.key"
    "$CONCORD" agent push --config "$dir/agent.yaml"
done
"$CONCORD" agent status --config "$OUT/agencies/${AGENCY[police_da_incidents]}/agent.yaml"

step "11/12 what the hub holds, as the IG officer sees it"
curl -sf -H "Authorization: Bearer $token" "$HUB_URL/v1/uploads" > "$HUB/uploads.json"
curl -sf -H "Authorization: Bearer $token" "$HUB_URL/v1/audit?limit=1000" > "$HUB/audit.json"
# The IG officer keeps the hub's signed checkpoint of the audit log, to hold the log to later.
curl -sf "$HUB_URL/v1/audit/checkpoint" > "$HUB/kept-checkpoint.note"
python3 - "$HUB/uploads.json" "$HUB/audit.json" <<'PY'
import collections, json, sys
uploads = json.load(open(sys.argv[1]))["uploads"]
print(f"{'agency':28} {'dataset':22} {'state':9} {'rows':>7}  receipt")
for u in sorted(uploads, key=lambda u: u["dataset"]):
    r = u.get("receipt", {}).get("receipt", {})
    print(f"{u['agency']:28} {u['dataset']:22} {u['state']:9} {r.get('rows_loaded', 0):>7}  {r.get('receipt_id', '-')}")
entries = json.load(open(sys.argv[2]))["entries"]
actions = collections.Counter(e["action"] for e in entries)
print(f"audit log: {len(entries)} entries, hash-chained (" + ", ".join(f"{a} {n}" for a, n in sorted(actions.items())) + ")")
PY

step "12/12 an analyst asks for counts under early-help-domestic-abuse; an IG officer approves; the analyst downloads them"
# Tokens go to files only their owner can read; the commands read them from CONCORD_TOKEN_FILE.
(umask 077
 "$CONCORD" hub user add --config "$HUB/hub.yaml" --as demo --id n-carrow --role analyst 2> /dev/null > "$HUB/n-carrow.token"
 "$CONCORD" hub user add --config "$HUB/hub.yaml" --as demo --id i-thackeray --role ig-officer 2> /dev/null > "$HUB/i-thackeray.token")
export CONCORD_HUB_URL="$HUB_URL"
request=$(CONCORD_TOKEN_FILE="$HUB/n-carrow.token" "$CONCORD" request create --agreement early-help-domestic-abuse --purpose EH-DA \
    --datasets police_da_incidents,csc_referrals --dimensions police_da_incidents.GENDER,csc_referrals.Gender \
    --justification "Who police and children's social care both know" | cut -d' ' -f1)
CONCORD_TOKEN_FILE="$HUB/i-thackeray.token" "$CONCORD" request approve "$request" --reason "Within the needs assessment's purpose"
mkdir -p "$OUT/requests"
CONCORD_TOKEN_FILE="$HUB/n-carrow.token" "$CONCORD" request download "$request" --out "$OUT/requests/$request.csv" --report "$OUT/requests/$request.linkage.json"
echo "Persons by sex as police and as children's social care record it (empty: no record there; *: all),"
echo "small cells suppressed, then enough others that none can be worked out from the totals, rounded to 5:"
cat "$OUT/requests/$request.csv"
python3 - "$OUT/requests/$request.linkage.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"The linkage behind it ({r['agreement']} v{r['agreementVersion']}): {r['persons']} persons from "
      + ", ".join(f"{d['records']} {d['dataset']} records ({d['matchRate']:.0%} linked)" for d in r["datasets"]))
print("  records linked by key: " + ", ".join(f"{k['key']} {k['records']}" for k in r["linkedBy"]))
PY
hub_stop
"$CONCORD" audit verify --config "$HUB/hub.yaml" --hub-key "$HUB/keys/hub-signing.pub" --checkpoint "$HUB/kept-checkpoint.note"

echo
echo "Files:"
echo "  linkage key (secret, stays at the agencies): $OUT/keys/linkage.key"
echo "  raw synthetic extracts + truth.csv:          $OUT/extracts/"
echo "  pseudonymised extracts (what the hub sees):  $OUT/pseudonymised/"
echo "  rejected rows (line, field, reason):         $OUT/rejects/"
echo "  each agency's keys, agent config and state:  $OUT/agencies/"
echo "  the hub's keys, config, log and data:        $HUB/"
echo "  the analyst's output and linkage report:     $OUT/requests/"
echo
echo "While the hub runs ($CONCORD hub serve --config $HUB/hub.yaml):"
echo "  IG dashboard:     $HUB_URL/ig/  (sign in with the token in $HUB/i-thackeray.token)"
echo "  public register:  $HUB_URL/register"
current_step="done"
echo
echo "demo: ok"
