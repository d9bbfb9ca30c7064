#!/usr/bin/env bash
# Usage: scripts/fuzz.sh [TARGET...]      (targets: csv envelope schema agreement; default all)
#
# Builds the libFuzzer targets in Fuzz/ (every Swift module instrumented with
# -sanitize=fuzzer, in .build-fuzz/) and runs each for FUZZ_SECONDS (default 60),
# starting from seeds made of the repository's own inputs: the hostile corpora under
# Tests/Corpora, the shipped schemas and agreements, and the envelope test vector. New inputs
# libFuzzer finds go to fuzz-output/TARGET/corpus (kept between runs); a crash, hang or
# out-of-memory is written to fuzz-output/TARGET/ and the script exits non-zero. Turn each
# crash into a case of the matching corpus under Tests/Corpora before fixing it.
#
# FUZZ_CONFIGURATION is the build: release (the default: about 15 minutes to build on 2 cores,
# and several times more inputs a second) or debug (about 2 minutes; what `make test` runs,
# 15 s a target, so that every run of the tests also fuzzes).
#
#   FUZZ_SECONDS=600 scripts/fuzz.sh csv
#   FUZZ_SECONDS=15 FUZZ_CONFIGURATION=debug scripts/fuzz.sh
set -euo pipefail

cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_CONFIGURATION=${FUZZ_CONFIGURATION:-release}
SWIFT=${SWIFT:-swift}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(csv envelope schema agreement)

log() { printf 'fuzz: %s\n' "$*" >&2; }

started=$(date +%s)
build=($SWIFT build --package-path Fuzz --scratch-path .build-fuzz -c "$FUZZ_CONFIGURATION" --sanitize fuzzer)
"${build[@]}" >&2
log "built the fuzz targets ($FUZZ_CONFIGURATION) in $(( $(date +%s) - started )) s"
bin=$("${build[@]}" --show-bin-path)

# Seeds for a target, copied into a fresh directory (libFuzzer only reads it).
seed() {
    local target=$1 directory=$2
    mkdir -p "$directory"
    case $target in
        csv) cp Tests/Corpora/csv/*.csv Sources/ConcordCore/Resources/nicknames.csv "$directory"/ ;;
        envelope)
            python3 -c 'import base64, json, sys; sys.stdout.buffer.write(base64.b64decode(json.load(open("Tests/Vectors/envelope/vector.json"))["envelope_base64"]))' \
                > "$directory/vector.envelope"
            python3 -c 'import json, sys; sys.stdout.write(json.load(open("Tests/Vectors/envelope/vector.json"))["manifest"])' > "$directory/vector.manifest" ;;
        schema) cp Schemas/datasets/*.yaml Tests/Corpora/schemas/*.yaml "$directory"/ ;;
        agreement) cp Agreements/*.yaml Tests/Corpora/agreements/*.yaml Tests/Agreements/broken/*.yaml "$directory"/ ;;
        *) log "unknown target $target"; exit 2 ;;
    esac
}

status=0
for target in "${targets[@]}"; do
    output=fuzz-output/$target
    seeds=$(mktemp -d)
    trap 'rm -rf "$seeds"' EXIT
    seed "$target" "$seeds"
    mkdir -p "$output/corpus"
    log "$target: ${FUZZ_SECONDS} s"
    if ! "$bin/fuzz-$target" "$output/corpus" "$seeds" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
            -max_len=65536 -artifact_prefix="$output/" -print_final_stats=1 > "$output/log.txt" 2>&1; then
        log "$target: FAILED; the input is in $output/ (crash-*, timeout-* or oom-*), the log in $output/log.txt"
        tail -n 40 "$output/log.txt" >&2
        status=1
    else
        log "$target: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$output/log.txt" | grep -o '[0-9]*$') inputs, no failure"
    fi
    rm -rf "$seeds"
done
exit $status
