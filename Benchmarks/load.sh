#!/usr/bin/env bash
# Load on a hub on loopback (embedded PostgreSQL), bounded in count and time: AGENCIES agencies
# push UPLOADS attendance extracts of ROWS rows each with the real agent, all at once, while
# ANALYSTS analysts call the API (list agreements, create a request, list requests, whoami) and
# an IG officer reads the audit log and the uploads. Reports throughput, p50/p99 latency and
# errors per operation (Benchmarks/load_client.py), then checks that nothing was lost: receipts,
# complete uploads and published extracts equal the pushes; upload.accepted, request.create and
# the IG officer's audit.read entries equal the calls that made them; the audit chain verifies.
#
#   Benchmarks/load.sh [--agencies N] [--uploads N] [--rows N] [--analysts N] [--calls N] [--seconds N] [--out DIR]
#   defaults: 20 agencies, 3 uploads each, 2,000 rows, 4 analysts, 400 calls per person, 600 s
#   Results in DIR/results.md (and .json), bench-output/load by default. CONCORD=path overrides
#   the release binary (make test runs a small load with the debug one).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CONCORD=${CONCORD:-.build/release/concord}
OUT=bench-output/load
AGENCIES=20 UPLOADS=3 ROWS=2000 ANALYSTS=4 CALLS=400 LIMIT=600
while (($#)); do
    case "$1" in
        --agencies) AGENCIES=$2; shift 2 ;;
        --uploads) UPLOADS=$2; shift 2 ;;
        --rows) ROWS=$2; shift 2 ;;
        --analysts) ANALYSTS=$2; shift 2 ;;
        --calls) CALLS=$2; shift 2 ;;
        --seconds) LIMIT=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
((AGENCIES >= 1 && AGENCIES <= 99)) || { echo "--agencies must be 1 to 99" >&2; exit 2; }
((ANALYSTS >= 1)) || { echo "--analysts must be at least 1" >&2; exit 2; }
[[ -x $CONCORD ]] || { echo "no binary at $CONCORD: run 'make bench' (or swift build -c release)" >&2; exit 1; }
CONCORD=$(cd "$(dirname "$CONCORD")" && pwd)/$(basename "$CONCORD")

source scripts/lib-hub.sh
trap hub_stop EXIT
rm -rf "$OUT"
mkdir -p "$OUT/agreements" "$OUT/extracts" "$OUT/tokens"
root=$(pwd)
case $OUT in /*) WORK=$OUT ;; *) WORK=$root/$OUT ;; esac

echo "== hub on an embedded PostgreSQL, $AGENCIES agreements (one per agency)"
hub_start "$WORK/hub"
HUB=$OUT/hub/hub.yaml
socket_dir=$WORK/hub/data/postgres/socket
[[ -S $socket_dir/.s.PGSQL.5432 ]] || socket_dir=$(dirname "$(ls /tmp/concord-pg-*/.s.PGSQL.5432 2>/dev/null | head -1)")
PSQL=(psql -X -q -At -h "$socket_dir" -U concord -d concord -v ON_ERROR_STOP=1)
python3 Benchmarks/load_agreement.py "$AGENCIES" "$OUT/agreements"
"$CONCORD" agreement apply --config "$HUB" --as load "$OUT"/agreements/*.yaml > /dev/null
"$CONCORD" keys new-linkage-key --out "$OUT/linkage.key" > /dev/null 2>&1
# The agreements' recipients and approver (Agreements/school-readiness.v1.yaml).
analysts=(n-carrow l-wojcik)
analyst_tokens=()
for ((i = 0; i < ANALYSTS; i++)); do
    id=${analysts[$((i % 2))]}
    [[ -f "$OUT/tokens/$id" ]] || (umask 077; "$CONCORD" hub user add --config "$HUB" --as load --id "$id" --role analyst 2>/dev/null > "$OUT/tokens/$id")
    analyst_tokens+=(--analyst-token "$OUT/tokens/$id")
done
(umask 077; "$CONCORD" hub user add --config "$HUB" --as load --id i-thackeray --role ig-officer 2>/dev/null > "$OUT/tokens/i-thackeray")

echo "== $UPLOADS extracts of $ROWS attendance rows"
for ((u = 1; u <= UPLOADS; u++)); do
    "$CONCORD" synth --seed "$u" --dataset school_attendance --rows "$ROWS" --out "$OUT/synth-$u" 2>/dev/null
    mv "$OUT/synth-$u/school_attendance.csv" "$OUT/extracts/$u.csv"
    rm -rf "$OUT/synth-$u"
done

echo "== $AGENCIES agencies registered"
for ((n = 1; n <= AGENCIES; n++)); do
    agency=$(printf 'load-agency-%02d' "$n")
    dir=$OUT/agencies/$agency
    mkdir -p "$dir/extract"
    "$CONCORD" keys new-agency --id "$agency" --out "$dir/keys" > /dev/null 2>&1
    "$CONCORD" hub agency add --config "$HUB" --as load --id "$agency" --name "Load test agency $n" \
        --public-key "$(cat "$dir/keys/$agency.agency-signing.pub")" > /dev/null 2>&1
    agent_config "$dir/agent.yaml" "$agency" school_attendance "$WORK/agencies/$agency/extract/*.csv" \
        "$(printf 'load-test-%02d' "$n")" "$WORK/linkage.key" "$WORK/agreements"
done

echo "== load: $AGENCIES agencies x $UPLOADS pushes, $ANALYSTS analysts and 1 IG officer (at most $CALLS calls each, $LIMIT s)"
start_seq=$("${PSQL[@]}" -c "SELECT coalesce(max(seq), 0) FROM audit_log")
python3 Benchmarks/load_client.py --hub "$HUB_URL" --concord "$CONCORD" --work "$WORK" --agencies "$AGENCIES" --uploads "$UPLOADS" \
    "${analyst_tokens[@]}" --ig-token "$OUT/tokens/i-thackeray" --calls "$CALLS" --seconds "$LIMIT" --out "$OUT/results.json"

echo "== nothing lost: counts against the hub's tables and its audit log"
count() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["operations"].get(sys.argv[2], {}); print(r.get("count", 0) - r.get("errors", 0))' "$OUT/results.json" "$1"; }
pushes=$(count "agent push (seal + upload + receipt)")
requests=$(count "POST /v1/requests")
audit_reads=$(count "GET /v1/audit")
receipts=$(find "$OUT/agencies" -path '*/sent/*.receipt.json' | wc -l)
waiting=$(find "$OUT/agencies" -path '*/outbox/*.envelope' | wc -l)
complete=$("${PSQL[@]}" -c "SELECT count(*) FROM uploads WHERE state = 'complete'")
published=$("${PSQL[@]}" -c "SELECT count(*) FROM extracts WHERE state IN ('published', 'superseded')")
rows=$("${PSQL[@]}" -c "SELECT coalesce(sum(rows), 0) FROM extracts WHERE state IN ('published', 'superseded')")
entries() { "${PSQL[@]}" -c "SELECT count(*) FROM audit_log WHERE seq > $start_seq AND action = '$1' $2"; }
accepted=$(entries upload.accepted "")
created=$(entries request.create "")
read_entries=$(entries audit.read "AND actor = 'user:i-thackeray'")
verify=$("$CONCORD" audit verify --config "$HUB" 2>&1 | grep -m1 '^audit log:' || true)

python3 - "$OUT/results.json" "$OUT/results.md" <<PY
import json, sys
r = json.load(open(sys.argv[1]))
attempted = r["operations"].get("agent push (seal + upload + receipt)", {}).get("count", 0)
checks = [
    ("pushes made", attempted, "agencies x uploads", $AGENCIES * $UPLOADS),
    ("pushes that exited 0", $pushes, "receipts filed by the agents", $receipts),
    ("receipts filed by the agents", $receipts, "complete uploads at the hub", $complete),
    ("complete uploads", $complete, "published (or superseded) extracts", $published),
    ("complete uploads", $complete, "upload.accepted audit entries", $accepted),
    ("envelopes left in outboxes", $waiting, "zero", 0),
    ("requests created (201)", $requests, "request.create audit entries", $created),
    ("IG audit reads (200)", $audit_reads, "audit.read entries by the IG officer", $read_entries),
]
r["checks"] = [{"what": a, "value": x, "against": b, "expected": y, "ok": x == y} for a, x, b, y in checks]
r["rows_published"] = $rows
r["audit_verify"] = "$verify"
r["command"] = "Benchmarks/load.sh --agencies $AGENCIES --uploads $UPLOADS --rows $ROWS --analysts $ANALYSTS --calls $CALLS --seconds $LIMIT"
json.dump(r, open(sys.argv[1], "w"), indent=2)
lines = [f"# Load test ({r['command']})", "", f"{r['seconds']} s in all; {r['rows_published']} rows published.", "",
         "| operation | calls | errors | per second | p50 ms | p99 ms |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
for name, o in r["operations"].items():
    lines.append(f"| {name} | {o['count']} | {o['errors']} | {o['per_second']} | {o['p50_ms']} | {o['p99_ms']} |")
lines += ["", "| check | value | against | expected | ok |", "| --- | ---: | --- | ---: | --- |"]
lines += [f"| {c['what']} | {c['value']} | {c['against']} | {c['expected']} | {'yes' if c['ok'] else 'NO'} |" for c in r["checks"]]
lines += ["", f"audit verify: {r['audit_verify']}"]
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
errors = sum(o["errors"] for o in r["operations"].values())
for name, o in r["operations"].items():
    for e in o["first_errors"]:
        print(f"  {name}: {e}", file=sys.stderr)
sys.exit(0 if errors == 0 and all(c["ok"] for c in r["checks"]) and r["audit_verify"].startswith("audit log: ok") else 1)
PY
