#!/usr/bin/env bash
# Usage: scripts/swift-test.sh [SWIFT TEST FLAGS...]   (make test runs it inside with-test-postgres.sh)
#
# `swift test`, with its output also kept in .build/swift-test.log. When it fails, what failed is
# printed again at the end: CI shows only the last lines of a run, and a crash's backtrace (or
# a long list of passing tests) would otherwise push the failing test and its message out of them.
set -uo pipefail

cd "$(dirname "$0")/.."
mkdir -p .build
log=.build/swift-test.log
# A crash's report: the crashed thread only, without registers and the list of loaded images.
export SWIFT_BACKTRACE=${SWIFT_BACKTRACE:-enable=yes,threads=crashed,registers=none,images=none}

"${SWIFT:-swift}" test "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
    echo
    echo "== swift test failed (exit $status); the full output is in $log. What failed:"
    # With each recorded issue, its comment: the lines after it, up to the next event (at most 30).
    awk '/^(✔|✘|◇|➜|⚠)/ { comment = 0 }
         comment > 0 { print; comment--; next }
         /^✔/ { next }
         /✘|Fatal error|fatal error|Program crashed|Thread [0-9]+.* crashed| in .* at \/.*\.swift:[0-9]+|error:/ { print; if (/recorded an issue/) comment = 30 }' "$log" | head -n 120
fi
exit "$status"
