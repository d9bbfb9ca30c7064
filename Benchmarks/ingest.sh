#!/usr/bin/env bash
# The agent's push and the hub's ingest, measured end to end in one run on this machine:
#
#   agent (issue 4): `concord agent push` of N synthetic police incident rows (validate, minimise,
#     pseudonymise, compress, encrypt, sign, upload, verify the receipt) beside `concord
#     pseudonymise` of the same extract under the same agreement, with peak RSS of each.
#   hub (issue 5): from "upload complete" to rows queryable (open, verify, decrypt, decompress,
#     check every row, COPY into staging, publish), as the hub logs it, against
#     `psql -c "\copy ..."` of the same decrypted rows into the same table on the same cluster.
#
#   Benchmarks/ingest.sh [--rows N]        (default 1,000,000; results in bench-output/ingest/results.md)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

OUT=bench-output/ingest
source Benchmarks/lib-bench.sh
bench_arguments "$@"
source scripts/lib-hub.sh
trap hub_stop EXIT
rm -rf "$OUT"
mkdir -p "$OUT/agent/keys"
root=$(pwd)

echo "== synthetic extract: police_da_incidents, $ROWS rows"
"$CONCORD" keys new-linkage-key --out "$OUT/linkage.key" > /dev/null 2>&1
"$CONCORD" synth --seed 1 --dataset police_da_incidents --rows "$ROWS" --out "$OUT/data" 2>/dev/null
EXTRACT=$root/$OUT/data/police_da_incidents.csv

echo "== concord pseudonymise (the agent's first stage alone)"
measure "$OUT/pseudonymise.time" "$CONCORD" pseudonymise --schema Schemas/datasets/police_da_incidents.yaml \
    --agreement early-help-domestic-abuse --agency essex-police --key "$OUT/linkage.key" \
    --in "$EXTRACT" --out "$OUT/pseudonymised.csv" --rejects "$OUT/pseudonymise.rejects.csv" 2> "$OUT/pseudonymise.log"
P_SECONDS=$SECONDS_TAKEN; P_KIB=$PEAK_KIB

echo "== hub on an embedded PostgreSQL"
hub_start "$OUT/hub"
"$CONCORD" keys new-agency --id essex-police --out "$OUT/agent/keys" > /dev/null 2>&1
"$CONCORD" hub agency add --config "$OUT/hub/hub.yaml" --as bench --id essex-police --name "Essex Police" \
    --public-key "$(cat "$OUT/agent/keys/essex-police.agency-signing.pub")" 2>/dev/null
"$CONCORD" agreement apply --config "$OUT/hub/hub.yaml" --as bench Agreements/early-help-domestic-abuse.v1.yaml 2>/dev/null
agent_config "$OUT/agent/agent.yaml" essex-police police_da_incidents "$EXTRACT" early-help-domestic-abuse "$root/$OUT/linkage.key"

echo "== concord agent push"
measure "$OUT/push.time" "$CONCORD" agent push --config "$OUT/agent/agent.yaml" 2> "$OUT/push.log"
A_SECONDS=$SECONDS_TAKEN; A_KIB=$PEAK_KIB
cat "$OUT/push.log"
HUB_SECONDS=$(grep -o 'opened, checked, staged and published in [0-9.e-]* s' "$OUT/hub/serve.log" | awk '{print $(NF-1)}' | tail -1)
ROWS_LOADED=$(grep -o ': [0-9]* rows of police_da_incidents opened' "$OUT/hub/serve.log" | awk '{print $2}' | tail -1)

echo "== psql \\copy of the same decrypted rows into the same table"
envelope=$(ls "$OUT"/agent/state/sent/*.envelope)
"$CONCORD" hub open-envelope --hub-key "$OUT/hub/keys/hub-encryption.key" \
    --agency-key "$OUT/agent/keys/essex-police.agency-signing.pub" --in "$envelope" --out "$OUT/payload.csv" > /dev/null 2>&1
socket_dir=$root/$OUT/hub/data/postgres/socket
[[ -S $socket_dir/.s.PGSQL.5432 ]] || socket_dir=$(dirname "$(ls /tmp/concord-pg-*/.s.PGSQL.5432 2>/dev/null | head -1)")
PSQL=(psql -X -q -h "$socket_dir" -U concord -d concord -v ON_ERROR_STOP=1)
extract_id=$("${PSQL[@]}" -At -c "SELECT id FROM extracts WHERE state = 'published' ORDER BY id DESC LIMIT 1")
# The same rows with the same extract id in front, and the table's column names for the header
# (the hub's snake_case of each schema column name, docs/hub-database.md).
columns=$(python3 - "$OUT/payload.csv" "$OUT/copy.csv" "$extract_id" <<'PY'
import re, sys
source, target, extract = sys.argv[1], sys.argv[2], sys.argv[3]
def sql_name(name):
    out = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]", "_", out.lower())).strip("_")
with open(source, encoding="utf-8") as f, open(target, "w", encoding="utf-8") as g:
    header = f.readline().rstrip("\n").split(",")
    g.write(",".join(["_extract"] + header) + "\n")
    for line in f:
        g.write(extract + "," + line)
print(",".join(["_extract"] + [sql_name(c) for c in header]))
PY
)
measure "$OUT/psql.time" "${PSQL[@]}" -c "\\copy ds_police_da_incidents ($columns) FROM '$root/$OUT/copy.csv' WITH (FORMAT csv, HEADER true)"
PSQL_SECONDS=$SECONDS_TAKEN
hub_stop

ratio=$(python3 -c "print(f'{$HUB_SECONDS / $PSQL_SECONDS:.2f}')")
overhead=$(python3 -c "print(f'{($A_SECONDS - $P_SECONDS) / $P_SECONDS * 100:.0f}')")
rate() { python3 -c "print(f'{$ROWS / $1:,.0f}')"; }
cat > "$OUT/results.md" <<MD
# Agent push and hub ingest, $ROWS rows of police_da_incidents ($(date -u +%Y-%m-%d), $(nproc) cores)

| stage | seconds | rows/s | peak RSS |
| --- | ---: | ---: | ---: |
| concord pseudonymise (agent's first stage) | $P_SECONDS | $(rate "$P_SECONDS") | $((P_KIB / 1024)) MiB |
| concord agent push (pseudonymise, seal, upload, receipt) | $A_SECONDS | $(rate "$A_SECONDS") | $((A_KIB / 1024)) MiB |
| hub: upload complete → rows queryable ($ROWS_LOADED rows) | $HUB_SECONDS | $(rate "$HUB_SECONDS") | |
| psql \\copy of the same rows into the same table | $PSQL_SECONDS | $(rate "$PSQL_SECONDS") | |

- agent push costs $overhead% on top of pseudonymisation alone (sealing, upload, and the hub's load, which the push waits for).
- hub ingest / psql \\copy = **$ratio** (target: at most 1.3).
MD
cat "$OUT/results.md"
