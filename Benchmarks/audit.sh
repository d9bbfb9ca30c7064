#!/usr/bin/env bash
# The audit log's transparency work on a large log, measured in one run on this machine
# (docs/transparency-log.md): an audit log of N entries with a valid hash chain is written straight
# into a database (one recursive SQL statement), then
#
#   concord audit checkpoint   grows the Merkle tree cache from nothing and signs a checkpoint,
#   concord audit verify       recomputes chain and tree from every entry against that checkpoint,
#   verify_log.py              the independent Python verifier, on the entries as psql prints them,
#
# with elapsed time and peak RSS (which must not grow with N: everything streams).
#
#   scripts/with-test-postgres.sh Benchmarks/audit.sh [--entries N]
#       (default 1,000,000; needs CONCORD_TEST_DATABASE_URL; results in bench-output/audit/results.md)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ENTRIES=1000000
while (($#)); do
    case "$1" in
        --entries) ENTRIES=$2; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
CONCORD=${CONCORD:-.build/release/concord}
OUT=bench-output/audit
TIME=/usr/bin/time
[[ -x $CONCORD ]] || { echo "no release binary at $CONCORD: run 'make bench' (or swift build -c release)" >&2; exit 1; }
[[ -n ${CONCORD_TEST_DATABASE_URL:-} ]] || { echo "run it through scripts/with-test-postgres.sh" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"
root=$(pwd)

database=concord_bench_audit
psql "$CONCORD_TEST_DATABASE_URL" -q -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $database" -c "CREATE DATABASE $database"
url=${CONCORD_TEST_DATABASE_URL%/*}/$database
"$CONCORD" keys new-hub --out "$OUT/keys" > /dev/null 2>&1
cat > "$OUT/hub.yaml" <<YAML
format: concord-hub/1
data_dir: hub
database_url: $url
keys: {encryption: keys/hub-encryption.key, signing: keys/hub-signing.key}
schemas_dir: $root/Schemas/datasets
YAML

echo "== an audit log of $ENTRIES entries"
# The first entry through the hub's own code (this also migrates the database), the rest chained
# from it in SQL exactly as the hub hashes them.
"$CONCORD" hub user add --config "$OUT/hub.yaml" --as bench --id ig --role ig-officer > /dev/null 2>&1
psql "$url" -qc "
WITH RECURSIVE chain (seq, content, prev_hash, hash) AS (
    SELECT seq, content, prev_hash, hash FROM audit_log WHERE seq = 1
    UNION ALL
    SELECT c.seq + 1, x.content, c.hash, sha256(c.hash || convert_to(x.content, 'UTF8'))
    FROM chain c, LATERAL (SELECT '{\"action\":\"decision\",\"actor\":\"hub\",\"at\":\"2026-11-22T07:00:00.000000Z\",\"details\":{\"n\":'
                                  || (c.seq + 1) || '},\"outcome\":\"ok\",\"seq\":' || (c.seq + 1) || ',\"subject\":\"s' || (c.seq + 1) || '\"}') AS x (content)
    WHERE c.seq < $ENTRIES)
INSERT INTO audit_log (seq, at, actor, action, subject, outcome, content, prev_hash, hash)
SELECT seq, '2026-11-22T07:00:00Z', 'hub', 'decision', 's' || seq, 'ok', content, prev_hash, hash FROM chain WHERE seq > 1"

measure() { # name command... -> a results line
    local name=$1; shift
    "$TIME" -f '%e %M' -o "$OUT/$name.time" "$@" > "$OUT/$name.out" 2>&1 || { cat "$OUT/$name.out" >&2; exit 1; }
    read -r seconds kib < "$OUT/$name.time"
    printf '| %s | %s | %s |\n' "$name" "$seconds" "$((kib / 1024))"
}
{
    echo "# Audit log transparency: $ENTRIES entries"
    echo
    echo "| step | seconds | peak RSS (MiB) |"
    echo "| --- | ---: | ---: |"
    measure "concord audit checkpoint (tree from nothing)" "$CONCORD" audit checkpoint --config "$OUT/hub.yaml" --out "$OUT/kept.note"
    measure "concord audit verify" "$CONCORD" audit verify --config "$OUT/hub.yaml" --checkpoint "$OUT/kept.note"
    psql "$url" -Atc "SELECT content FROM audit_log ORDER BY seq" > "$OUT/entries.txt"
    measure "verify_log.py (Python, tree only)" sh -c "python3 Tests/Vectors/transparency/verify_log.py --hub-key '$OUT/keys/hub-signing.pub' '$OUT/kept.note' < '$OUT/entries.txt'"
} | tee "$OUT/results.md"
grep -q "audit log: ok: $ENTRIES entries" "$OUT/concord audit verify.out" || { echo "verify did not pass" >&2; exit 1; }
rm -f "$OUT/entries.txt"
psql "$CONCORD_TEST_DATABASE_URL" -qc "DROP DATABASE $database"
