#!/usr/bin/env bash
# Usage: scripts/browser-test.sh   (run by `make test` after the Swift tests)
#
# The IG dashboard's browser test (Tests/Browser/ig_dashboard.py) against a hub of its own: starts
# `concord hub serve` on an embedded PostgreSQL under browser-output/hub, registers an agency, an
# analyst and an IG officer, pushes a small synthetic police extract with the agent, has the
# analyst ask for counts (pending: the agreement wants approval), then drives headless Chromium
# through sign-in, approval and the access log. Screenshots: browser-output/screenshots/
# (git-ignored). Exits non-zero when any step fails. CONCORD=path overrides the binary (default
# the debug build, built when missing).
set -Eeuo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CONCORD="${CONCORD:-.build/debug/concord}"
OUT=browser-output
PYTHON=/usr/bin/python3   # Debian's, which has python3-selenium

die() { echo "browser-test: $*" >&2; exit 1; }
[[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] || die "chromium and chromium-driver are needed: run scripts/install-deps.sh"
"$PYTHON" -c 'import selenium' 2>/dev/null || die "python3-selenium is needed for $PYTHON: run scripts/install-deps.sh"
[[ -x "$CONCORD" ]] || swift build --product concord

source scripts/lib-hub.sh
trap hub_stop EXIT
rm -rf "$OUT"
mkdir -p "$OUT"
small_exchange "$OUT" || die "the hub did not start, or the agent's push failed"

export CONCORD_HUB_URL="$HUB_URL"
request=$(CONCORD_TOKEN_FILE="$OUT/n-carrow.token" "$CONCORD" request create --agreement early-help-domestic-abuse --purpose EH-DA \
    --datasets police_da_incidents --dimensions police_da_incidents.GENDER --justification "Browser test" | cut -d' ' -f1)
[[ -n "$request" ]] || die "no request was made"

"$PYTHON" Tests/Browser/ig_dashboard.py --hub "$HUB_URL" --token-file "$OUT/i-thackeray.token" --request "$request" --out "$OUT/screenshots"
