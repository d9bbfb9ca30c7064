#!/usr/bin/env bash
# Installs the Debian packages Concord needs to build, test, demo and benchmark,
# but only those that are missing. Safe to run any number of times.
#
#   postgresql    PostgreSQL 15 server for the test cluster (scripts/with-test-postgres.sh)
#   libssl-dev    libcrypto, linked by CConcordCrypto
#   libpq-dev     PostgreSQL client library and pg_config
#   libzstd-dev   zstd, which compresses envelope payloads (CZstd)
#   python3       helper one-liners in scripts (free ports, CSV counts)
#   python3-venv  the venv schemathesis is installed into by scripts/api-test.sh (pip, from PyPI)
#   python3-yaml  the Python implementation of the pseudonym spec (cross-checked by the tests)
#   curl          the demo asks the hub what it holds
#   python3-cryptography  the Python opener of the envelope test vector (cross-checked by the tests)
#   time          GNU /usr/bin/time, for benchmarks
#   make          the Makefile itself (not guaranteed on a fresh machine)
#   docker-compose  validates docker/compose.yaml (make docker-check); needs no Docker engine
#   chromium, chromium-driver, python3-selenium
#                 the IG dashboard's browser test (Tests/Browser), a real headless Chromium
#
# Installing `postgresql` on Debian normally creates and starts a cluster "main" on
# port 5432. Concord never uses it (each test run starts its own cluster on a free
# loopback port), so when this script is the one installing PostgreSQL for the
# first time it asks postgresql-common, for the duration of the install only, not
# to create that cluster. Existing clusters are never touched.
set -euo pipefail

PACKAGES=(postgresql libssl-dev libpq-dev libzstd-dev python3 python3-venv python3-yaml python3-cryptography time make curl docker-compose
          chromium chromium-driver python3-selenium)
PG_MAJOR=15
DROPIN_DIR=/etc/postgresql-common/createcluster.d
DROPIN="$DROPIN_DIR/zz-concord-install-deps.conf"

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script supports Debian (12) only"

installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    log "all present, nothing to do (${PACKAGES[*]})"
    exit 0
fi

log "missing: ${missing[*]}"

SUDO=()
if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
        log "not root: using sudo"
    else
        die "not root and sudo is not available; as root, run:
  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    fi
fi

# Keep Debian's default cluster from being created when we install PostgreSQL on a
# machine that has no cluster of this version yet. The drop-in is removed again
# afterwards, so later installs by anyone else behave as Debian intends.
dropin_written=0
remove_dropin() {
    if ((dropin_written)); then
        "${SUDO[@]}" rm -f "$DROPIN" || log "warning: could not remove $DROPIN"
    fi
}
trap remove_dropin EXIT

needs_postgresql=0
for pkg in "${missing[@]}"; do
    [[ "$pkg" == postgresql ]] && needs_postgresql=1
done
if ((needs_postgresql)) && ! compgen -G "/etc/postgresql/$PG_MAJOR/*/postgresql.conf" >/dev/null; then
    if [[ ! -e "$DROPIN" ]]; then
        log "asking postgresql-common not to create the default '$PG_MAJOR/main' cluster (port 5432) during this install"
        "${SUDO[@]}" install -d -m 0755 "$DROPIN_DIR"
        printf '%s\n' \
            '# Written by Concord scripts/install-deps.sh for the duration of one apt-get install;' \
            '# removed when it finishes. Safe to delete.' \
            'create_main_cluster = false' | "${SUDO[@]}" tee "$DROPIN" >/dev/null
        dropin_written=1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-o DPkg::Lock::Timeout=300)

log "apt-get update"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" update -q \
    || die "apt-get update failed"

log "apt-get install ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y -q --no-install-recommends "${missing[@]}" \
    || die "apt-get install failed for: ${missing[*]}"

still_missing=()
for pkg in "${missing[@]}"; do
    installed "$pkg" || still_missing+=("$pkg")
done
((${#still_missing[@]} == 0)) || die "still missing after install: ${still_missing[*]}"

[[ -x "/usr/lib/postgresql/$PG_MAJOR/bin/initdb" ]] \
    || die "/usr/lib/postgresql/$PG_MAJOR/bin/initdb not found: is this Debian 12 (PostgreSQL $PG_MAJOR)?"

log "installed: ${missing[*]}"
