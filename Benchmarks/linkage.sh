#!/usr/bin/env bash
# Person linkage (issue 6), measured in one run on this machine:
#
#   N synthetic rows of each of csc_referrals, school_attendance and police_da_incidents, drawn
#   from one population, pushed by three agents to a hub on an embedded PostgreSQL and linked
#   under youth-violence-vulnerability (keys mk_upn, mk2, mk3, mk3_swapped, mk4, mk5).
#   - hub: a first `concord hub link` (every key tuple new: the linkage the hub made as the
#     extracts were published is deleted first, untimed, with psql), again with nothing new (the
#     nightly case), and `--rebuild` (forgetting the persons, then linking afresh), with peak RSS;
#     then every row with its person written out (psql \copy of the join a row-level output runs).
#   - baseline: the plainest hand-written SQL joining the same tables on the same keys (one
#     equi-join per dataset pair and key, pairs written out), in the same run.
#   - quality: pairwise precision and recall against the truth `concord synth` wrote.
#
#   Benchmarks/linkage.sh [--rows N] [--reuse]   (default 1,000,000; results in bench-output/linkage/results.md)
#
#   --reuse measures again on the data an earlier run pushed (its --rows), skipping synth and push:
#   for comparing linkage changes on the same data.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

OUT=bench-output/linkage
AGREEMENT=youth-violence-vulnerability
REUSE=false
arguments=()
for argument in "$@"; do [[ $argument == --reuse ]] && REUSE=true || arguments+=("$argument"); done
source Benchmarks/lib-bench.sh
bench_arguments "${arguments[@]}"
source scripts/lib-hub.sh
trap hub_stop EXIT
if $REUSE; then
    [[ -f $OUT/hub/hub.yaml ]] || { echo "--reuse: no earlier run in $OUT" >&2; exit 1; }
    ROWS=$(($(wc -l < "$OUT/data/csc_referrals/csc_referrals.csv") - 1))
else
    rm -rf "$OUT"
    mkdir -p "$OUT"
fi
root=$(pwd)
declare -A AGENCY=([csc_referrals]=essex-childrens-services [school_attendance]=essex-education [police_da_incidents]=essex-police)
DATASETS=(csc_referrals school_attendance police_da_incidents)

HUB=(--config "$OUT/hub/hub.yaml" --as bench)
push_extracts() { # synth each dataset and push it through its agency's agent
    "$CONCORD" keys new-linkage-key --out "$OUT/linkage.key" > /dev/null 2>&1
    hub_start "$OUT/hub"
    "$CONCORD" agreement apply "${HUB[@]}" "Agreements/$AGREEMENT.v1.yaml" 2>/dev/null
    for dataset in "${DATASETS[@]}"; do
        agency=${AGENCY[$dataset]}
        echo "== $dataset: synth $ROWS rows, agent push as $agency"
        "$CONCORD" synth --seed 1 --dataset "$dataset" --rows "$ROWS" --out "$OUT/data/$dataset" 2>/dev/null
        mkdir -p "$OUT/$agency/keys"
        "$CONCORD" keys new-agency --id "$agency" --out "$OUT/$agency/keys" > /dev/null 2>&1
        "$CONCORD" hub agency add "${HUB[@]}" --id "$agency" --name "$agency" --public-key "$(cat "$OUT/$agency/keys/$agency.agency-signing.pub")" 2>/dev/null
        agent_config "$OUT/$agency/agent.yaml" "$agency" "$dataset" "$root/$OUT/data/$dataset/$dataset.csv" "$AGREEMENT" "$root/$OUT/linkage.key"
        "$CONCORD" agent push --config "$OUT/$agency/agent.yaml" 2> "$OUT/$agency/push.log"
    done
    hub_stop
}
$REUSE || push_extracts

# The hub's database, running as it does under a hub, without the hub: its own background linkage
# (which follows every publish) must not run at the same time. `concord hub link` uses the running
# cluster, so its time is the linkage's and the report's, not a database start and stop.
cluster=$root/$OUT/hub/data/postgres/cluster
as_cluster_owner() { if ((EUID == 0)); then runuser -u concord-pg -- "$@"; else "$@"; fi; }
as_cluster_owner /usr/lib/postgresql/15/bin/pg_ctl -D "$cluster" -l "$root/$OUT/hub/data/postgres/postgres.log" -w start > /dev/null
trap 'as_cluster_owner /usr/lib/postgresql/15/bin/pg_ctl -D "$cluster" -m fast -w stop > /dev/null 2>&1 || true' EXIT
socket_dir=$root/$OUT/hub/data/postgres/socket
[[ -S $socket_dir/.s.PGSQL.5432 ]] || socket_dir=$(dirname "$(ls /tmp/concord-pg-*/.s.PGSQL.5432 2>/dev/null | head -1)")
PSQL=(psql -X -q -h "$socket_dir" -U concord -d concord -v ON_ERROR_STOP=1)
echo "== read each dataset table once (not timed): neither the hub nor the baseline pays for a cold cache"
for dataset in "${DATASETS[@]}"; do "${PSQL[@]}" -c "SELECT count(*) FROM current_$dataset" > /dev/null; done
echo "== forget the linkage made as the extracts were published (not timed): the next run is a first one"
"${PSQL[@]}" -c "DELETE FROM linkage_nodes WHERE agreement_id = '$AGREEMENT'" -c "DELETE FROM linkage_datasets WHERE agreement_id = '$AGREEMENT'" \
    -c "VACUUM linkage_nodes"
echo "== concord hub link (first run: every key tuple new)"
measure "$OUT/link-full.time" "$CONCORD" hub link "${HUB[@]}" --agreement "$AGREEMENT" --format json > "$OUT/link-full.json" 2> "$OUT/link-full.log"
FULL_SECONDS=$SECONDS_TAKEN; FULL_KIB=$PEAK_KIB
echo "== concord hub link (nothing new: the nightly case)"
measure "$OUT/link-idle.time" "$CONCORD" hub link "${HUB[@]}" --agreement "$AGREEMENT" --format json > "$OUT/link-idle.json" 2> "$OUT/link-idle.log"
IDLE_SECONDS=$SECONDS_TAKEN; IDLE_KIB=$PEAK_KIB
echo "== concord hub link --rebuild (forget the persons, link afresh)"
measure "$OUT/link-rebuild.time" "$CONCORD" hub link "${HUB[@]}" --agreement "$AGREEMENT" --rebuild --format json > "$OUT/link-rebuild.json" 2> "$OUT/link-rebuild.log"
REBUILD_SECONDS=$SECONDS_TAKEN; REBUILD_KIB=$PEAK_KIB
"$CONCORD" hub link "${HUB[@]}" --agreement "$AGREEMENT" > "$OUT/report.txt" 2>/dev/null

# The agreement's keys in order, as each table carries them (police records have no UPN), in
# the form nodes store them (docs/linkage.md, section 2).
all_keys='d.mk_upn, d.mk2, d.mk3, d.mk3_swapped, d.mk4, d.mk5'
declare -A KEYS=([csc_referrals]=$all_keys [school_attendance]=$all_keys [police_da_incidents]=${all_keys/d.mk_upn/NULL::text})
linked_rows() { # dataset columns -> the SELECT of every published row with its person
    echo "SELECT $2 FROM current_$1 d JOIN linkage_nodes n ON n.agreement_id = '$AGREEMENT' AND n.dataset = '$1'
          AND n.keys = ARRAY[${KEYS[$1]}]::text[] ORDER BY d._row"
}
# As the hub reads linked rows (HubStore.withLinkageTransaction).
LINKED_PSQL=(env PGOPTIONS='-c enable_nestloop=off -c work_mem=64MB' "${PSQL[@]}")

echo "== row-level output: every row with its person"
output() { for dataset in "${DATASETS[@]}"; do "${LINKED_PSQL[@]}" -c "\\copy ($(linked_rows "$dataset" 'n.person, d.*')) TO '$root/$OUT/output-$dataset.csv' CSV HEADER"; done; }
started=$(date +%s.%N)
output
OUTPUT_SECONDS=$(python3 -c "print(f'{$(date +%s.%N) - $started:.2f}')")

echo "== baseline: the same tables joined on the same keys, pairs written out"
pairs=()
for a in 0 1 2; do for b in 0 1 2; do
    ((a < b)) || continue
    x=${DATASETS[$a]} y=${DATASETS[$b]}
    for key in mk_upn mk2 mk3 mk4 mk5; do
        [[ $key == mk_upn && ( $x == police_da_incidents || $y == police_da_incidents ) ]] && continue
        pairs+=("SELECT '$x', a._row, '$y', b._row, '$key' FROM current_$x a JOIN current_$y b ON a.$key = b.$key")
    done
    pairs+=("SELECT '$x', a._row, '$y', b._row, 'mk3_swapped' FROM current_$x a JOIN current_$y b ON a.mk3_swapped = b.mk3")
    pairs+=("SELECT '$x', a._row, '$y', b._row, 'mk3_swapped' FROM current_$x a JOIN current_$y b ON a.mk3 = b.mk3_swapped")
done; done
baseline_sql=$(IFS=$'\n'; echo "${pairs[*]}" | sed '2,$s/^/UNION ALL /')
measure "$OUT/baseline.time" "${PSQL[@]}" -c "\\copy ($baseline_sql) TO '$root/$OUT/baseline-pairs.csv' CSV"
BASELINE_SECONDS=$SECONDS_TAKEN
BASELINE_PAIRS=$(wc -l < "$OUT/baseline-pairs.csv")
echo "== baseline again, with the work_mem the hub's linkage sets (64 MB, docs/linkage.md)"
measure "$OUT/baseline-work-mem.time" env PGOPTIONS='-c work_mem=64MB' "${PSQL[@]}" -c "\\copy ($baseline_sql) TO '$root/$OUT/baseline-pairs.csv' CSV"
BASELINE_TUNED_SECONDS=$SECONDS_TAKEN

echo "== quality against the truth"
for dataset in "${DATASETS[@]}"; do
    "${LINKED_PSQL[@]}" -c "\\copy ($(linked_rows "$dataset" 'n.person')) TO '$root/$OUT/persons-$dataset.csv' CSV"
done
QUALITY=$(python3 Benchmarks/linkage_quality.py "$OUT" "${DATASETS[@]}")

LINK_MS=$(python3 -c "import json; print(json.load(open('$OUT/link-full.json'))[0]['run']['milliseconds'])")
PHASES=$(python3 -c "import json; p = json.load(open('$OUT/link-full.json'))[0]['run']['phases']; print(', '.join(f'{k} {v / 1000:.1f} s' for k, v in sorted(p.items())))")
ratio=$(python3 -c "print(f'{($FULL_SECONDS + $OUTPUT_SECONDS) / $BASELINE_SECONDS:.2f}')")
tuned_ratio=$(python3 -c "print(f'{($FULL_SECONDS + $OUTPUT_SECONDS) / $BASELINE_TUNED_SECONDS:.2f}')")
cat > "$OUT/results.md" <<MD
# Person linkage, 3 × $ROWS rows ($(date -u +%Y-%m-%d), $(nproc) cores)

| step | seconds | peak RSS |
| --- | ---: | ---: |
| concord hub link, first run (every key tuple new: the run itself $((LINK_MS / 1000)).$(printf %03d $((LINK_MS % 1000))) s, $PHASES; the rest is the command connecting, and the report) | $FULL_SECONDS | $((FULL_KIB / 1024)) MiB |
| concord hub link, nothing new (nightly) | $IDLE_SECONDS | $((IDLE_KIB / 1024)) MiB |
| concord hub link --rebuild (deleting the persons found, then a first run) | $REBUILD_SECONDS | $((REBUILD_KIB / 1024)) MiB |
| every row with its person written out (psql \\copy) | $OUTPUT_SECONDS | |
| baseline: plain equi-joins per dataset pair and key, $BASELINE_PAIRS pairs written out | $BASELINE_SECONDS | |
| the same baseline with work_mem = 64MB, as the hub's linkage runs | $BASELINE_TUNED_SECONDS | |

- (first linkage + output) / baseline = **$ratio** (target: at most 1.5); against the baseline with the hub's work_mem: $tuned_ratio.
- $QUALITY

\`\`\`
$(cat "$OUT/report.txt")
\`\`\`
MD
cat "$OUT/results.md"
