#!/usr/bin/env bash
# Usage: scripts/api-test.sh   (run by `make test` after the Swift tests)
#
# Schemathesis against docs/openapi.yaml and a live hub of its own: starts `concord hub serve` on
# an embedded PostgreSQL under api-output/hub, registers an agency, an analyst and an IG officer,
# pushes a small synthetic extract with the agent (so uploads, agreements and the audit log hold
# something), has the analyst make a request, then lets schemathesis generate requests for every
# operation people call, first with the IG officer's bearer token and then with the analyst's.
# Checks: no 5xx, and every status code, content type, header and body conforms to the spec.
#
# Agency operations (x-concord-callers: [agency] only: startUpload, getUpload, appendUpload,
# completeUpload) need per-request Ed25519 signatures (docs/api-auth.md section 1), which
# schemathesis cannot make; they are run here unauthenticated, so what is checked is that every
# generated request is refused with a problem the spec lists. The agent's signed uploads are
# covered by the Swift end-to-end tests and by the push this script makes.
#
# Bounded: SCHEMATHESIS_EXAMPLES examples per operation (default 25) and SCHEMATHESIS_MAX_TIME
# seconds per run (default 45). Schemathesis (pinned, SCHEMATHESIS_VERSION) is installed on first
# use into .build/schemathesis-venv with the local python3's venv and pip; no stdin is read.
# Reports: api-output/ (git-ignored). CONCORD=path overrides the binary (default the debug build).
set -Eeuo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CONCORD="${CONCORD:-.build/debug/concord}"
OUT=api-output
SCHEMATHESIS_VERSION=4.32.5
VENV=.build/schemathesis-venv
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-25}"
MAX_TIME="${SCHEMATHESIS_MAX_TIME:-45}"

die() { echo "api-test: $*" >&2; exit 1; }
[[ -x "$CONCORD" ]] || swift build --product concord

if [[ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != *"version $SCHEMATHESIS_VERSION" ]]; then
    echo "api-test: installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed: install python3-venv (scripts/install-deps.sh)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" < /dev/null \
        || die "pip could not install schemathesis $SCHEMATHESIS_VERSION"
fi
SCHEMATHESIS="$VENV/bin/schemathesis"

source scripts/lib-hub.sh
trap hub_stop EXIT
rm -rf "$OUT"
mkdir -p "$OUT"
small_exchange "$OUT" || die "the hub did not start, or the agent's push failed"
CONCORD_HUB_URL="$HUB_URL" CONCORD_TOKEN_FILE="$OUT/n-carrow.token" "$CONCORD" request create \
    --agreement early-help-domestic-abuse --purpose EH-DA --datasets police_da_incidents \
    --dimensions police_da_incidents.GENDER --justification "API test" > /dev/null || die "the analyst's request failed"

AGENCY_ONLY=(startUpload getUpload appendUpload completeUpload)
run() {   # run NAME CHECKS [schemathesis options…]
    local name=$1 checks=$2
    shift 2
    echo "api-test: schemathesis as $name ($EXAMPLES examples per operation, at most $MAX_TIME s)"
    SCHEMATHESIS_HOOKS=Tests/API/schemathesis_hooks.py "$SCHEMATHESIS" run docs/openapi.yaml --url "$HUB_URL" \
        --checks "$checks" --max-examples "$EXAMPLES" --max-time "$MAX_TIME" --seed 1 \
        --request-timeout 20 --workers 1 --report junit --report-dir "$OUT/$name" "$@" < /dev/null
}
people=()
agency=()
for op in "${AGENCY_ONLY[@]}"; do people+=(--exclude-operation-id "$op"); agency+=(--include-operation-id "$op"); done
failed=()
run ig-officer all --header "Authorization: Bearer $(cat "$OUT/i-thackeray.token")" "${people[@]}" || failed+=(ig-officer)
run analyst all --header "Authorization: Bearer $(cat "$OUT/n-carrow.token")" \
    --include-path-regex '^/v1/(requests|whoami|audit/proofs|downloads)' || failed+=(analyst)
# Unsigned, so every answer is a refusal: only that it is no 5xx and conforms to the spec is checked.
run unsigned-agency not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    "${agency[@]}" || failed+=(unsigned-agency)
((${#failed[@]} == 0)) || die "schemathesis found failures in the runs as: ${failed[*]} (details above; reports in $OUT/)"
echo "api-test: ok"
