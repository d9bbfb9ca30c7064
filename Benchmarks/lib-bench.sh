# Shared by Benchmarks/ingest.sh and Benchmarks/linkage.sh (source it from the repository root):
#   bench_arguments "$@"       --rows N (default 1,000,000) into ROWS; --help prints the calling
#                              script's header comment; then checks CONCORD (the release binary,
#                              override with CONCORD=...) and TIME (GNU time)
#   measure LOG COMMAND...     runs COMMAND under GNU time; sets SECONDS_TAKEN and PEAK_KIB
CONCORD=${CONCORD:-.build/release/concord}
TIME=/usr/bin/time

bench_arguments() {
    ROWS=1000000
    while (($#)); do
        case "$1" in
            --rows) ROWS=$2; shift 2 ;;
            -h|--help) sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
            *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
        esac
    done
    [[ -x $CONCORD ]] || { echo "no release binary at $CONCORD: run 'make bench' (or swift build -c release)" >&2; exit 1; }
    [[ -x $TIME ]] || { echo "GNU time is missing: run scripts/install-deps.sh" >&2; exit 1; }
}

measure() {
    local log=$1; shift
    "$TIME" -f '%e %M' -o "$log" "$@"
    read -r SECONDS_TAKEN PEAK_KIB < "$log"
}
