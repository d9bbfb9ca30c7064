#!/usr/bin/env bash
# Usage: scripts/with-test-postgres.sh CMD [ARGS...]
#
# Starts a throwaway PostgreSQL 15 cluster on a free 127.0.0.1 port, runs CMD with
#   CONCORD_TEST_DATABASE_URL=postgres://concord:PASSWORD@127.0.0.1:PORT/concord_test
# exported, then stops the cluster and deletes its directory whatever happens
# (normal exit, failure, Ctrl-C, SIGTERM). Exits with CMD's exit status.
#
# The cluster is tuned for tests, not durability (fsync, synchronous_commit and
# full_page_writes are off). Several runs at once are fine: each has its own
# directory, port and socket. As root (initdb refuses root), the server runs as the
# unprivileged system user "concord-pg", created on first use.
set -euo pipefail

PG_MAJOR=15
PG_USER=concord-pg          # system user that owns the cluster when we are root
DB_SUPERUSER=concord
DB_NAME=concord_test
START_ATTEMPTS=5

log() { printf 'with-test-postgres: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# die, after showing the end of a log file (the server's, or initdb's).
die_with_log() {
    local file=$1; shift
    log "last lines of ${file##*/}:"
    tail -n 30 "$file" >&2 2>/dev/null || true
    die "$@"
}

(($# > 0)) || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }

# ---- binaries ---------------------------------------------------------------
bindir="/usr/lib/postgresql/$PG_MAJOR/bin"
if [[ ! -x "$bindir/initdb" ]]; then
    if command -v pg_config >/dev/null 2>&1 && [[ -x "$(pg_config --bindir)/initdb" ]]; then
        bindir="$(pg_config --bindir)"
    else
        die "PostgreSQL $PG_MAJOR server binaries not found in /usr/lib/postgresql/$PG_MAJOR/bin (nor pg_config --bindir); run scripts/install-deps.sh"
    fi
fi
for tool in initdb pg_ctl pg_isready psql createdb postgres; do
    [[ -x "$bindir/$tool" ]] || die "$bindir/$tool not found"
done
command -v python3 >/dev/null 2>&1 || die "python3 not found; run scripts/install-deps.sh"

# ---- who runs the server ----------------------------------------------------
as_pg=()
if ((EUID == 0)); then
    if ! id -u "$PG_USER" >/dev/null 2>&1; then
        # Two runs may race to create the user; whoever loses just finds it there.
        for _ in 1 2 3 4 5; do
            useradd --system --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin --user-group "$PG_USER" >/dev/null 2>&1 || true
            id -u "$PG_USER" >/dev/null 2>&1 && break
            sleep 1
        done
        id -u "$PG_USER" >/dev/null 2>&1 || die "could not create system user $PG_USER"
    fi
    if command -v runuser >/dev/null 2>&1; then
        as_pg=(runuser -u "$PG_USER" --)
    elif command -v setpriv >/dev/null 2>&1; then
        as_pg=(setpriv --reuid="$PG_USER" --regid="$PG_USER" --init-groups --)
    else
        die "running as root, but neither runuser nor setpriv is available to drop privileges"
    fi
fi

# ---- state and cleanup ------------------------------------------------------
tmpdir=""
datadir=""
logfile=""
child=""

postmaster_pid() {
    [[ -n "$datadir" && -r "$datadir/postmaster.pid" ]] || return 1
    local pid
    pid="$(head -n 1 "$datadir/postmaster.pid" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    printf '%s\n' "$pid"
}

stop_server() {
    local pid
    pid="$(postmaster_pid)" || return 0
    "${as_pg[@]}" "$bindir/pg_ctl" -D "$datadir" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    # If pg_ctl could not stop it, make sure the postmaster is gone (only if that pid
    # still is a postgres process: never kill a recycled pid).
    if kill -0 "$pid" 2>/dev/null && [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == postgres ]]; then
        kill -KILL "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
}

cleanup() {
    local rc=$?
    trap '' INT TERM HUP
    if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
        kill -TERM "$child" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$child" 2>/dev/null || true
    fi
    stop_server
    if [[ -n "$tmpdir" && -d "$tmpdir" ]]; then
        rm -rf -- "$tmpdir" || log "warning: could not delete $tmpdir"
    fi
    exit "$rc"
}

on_signal() {
    local sig=$1 code=$2
    trap '' INT TERM HUP
    log "caught SIG$sig, stopping"
    if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
        kill -"$sig" "$child" 2>/dev/null || true
        # Give CMD a moment to exit on its own; cleanup() escalates if it does not.
        for _ in $(seq 50); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
    fi
    exit "$code"
}

trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

# ---- create the cluster -----------------------------------------------------
tmpdir="$(mktemp -d "${TMPDIR:-/tmp}/concord-pg.XXXXXX")"
datadir="$tmpdir/data"
logfile="$tmpdir/postgres.log"
pwfile="$tmpdir/pwfile"

password="$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
( umask 077; printf '%s\n' "$password" >"$pwfile" )

if ((EUID == 0)); then
    chown -R "$PG_USER:" "$tmpdir"
    "${as_pg[@]}" test -w "$tmpdir" \
        || die "$PG_USER cannot reach $tmpdir (is TMPDIR=${TMPDIR:-/tmp} private to root? try TMPDIR=/tmp)"
fi

if ! "${as_pg[@]}" "$bindir/initdb" -D "$datadir" -U "$DB_SUPERUSER" --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C --no-sync --no-instructions >"$tmpdir/initdb.log" 2>&1; then
    die_with_log "$tmpdir/initdb.log" "initdb failed"
fi
rm -f -- "$pwfile"

cat >>"$datadir/postgresql.conf" <<EOF

# ---- with-test-postgres.sh: throwaway test cluster ----
listen_addresses = '127.0.0.1'
unix_socket_directories = '$tmpdir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

port=""
for attempt in $(seq "$START_ATTEMPTS"); do
    port="$(free_port)"
    rm -f -- "$logfile"
    if "${as_pg[@]}" "$bindir/pg_ctl" -D "$datadir" -l "$logfile" -w -t 60 \
            -o "-c port=$port" start >/dev/null 2>&1; then
        break
    fi
    if grep -qE 'could not bind|Address already in use|could not create any TCP/IP sockets' "$logfile" 2>/dev/null \
            && ((attempt < START_ATTEMPTS)); then
        log "port $port was taken, retrying on another"
        stop_server
        continue
    fi
    die_with_log "$logfile" "could not start PostgreSQL"
done

ready=0
for _ in $(seq 100); do
    if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres -U "$DB_SUPERUSER"; then
        ready=1
        break
    fi
    sleep 0.1
done
if ((!ready)); then
    die_with_log "$logfile" "PostgreSQL did not become ready within 10 s"
fi

# Create the database over the Unix socket (trust), then prove the URL's password works
# over TCP. The password goes through the environment, never on a command line.
"$bindir/createdb" -h "$tmpdir" -p "$port" -U "$DB_SUPERUSER" "$DB_NAME" \
    || die_with_log "$logfile" "createdb $DB_NAME failed"
version="$(PGPASSWORD="$password" "$bindir/psql" -X -q -At -h 127.0.0.1 -p "$port" -U "$DB_SUPERUSER" \
    -d "$DB_NAME" -c 'select 1' -c 'show server_version')" \
    || die_with_log "$logfile" "cannot connect to $DB_NAME over TCP with the generated password"
version="$(printf '%s\n' "$version" | tail -n 1 | awk '{print $1}')"

log "test PostgreSQL $version on 127.0.0.1:$port (data in $datadir)"

export CONCORD_TEST_DATABASE_URL="postgres://$DB_SUPERUSER:$password@127.0.0.1:$port/$DB_NAME"

# ---- run CMD ----------------------------------------------------------------
# In the background so that a signal to this script runs the trap at once (bash defers
# traps until a foreground command ends). The subshell restores default INT/QUIT,
# which bash ignores for background commands, and keeps our stdin (if we have one).
if { true <&0; } 2>/dev/null; then
    ( trap - INT QUIT; exec "$@" ) <&0 &
else
    ( trap - INT QUIT; exec "$@" ) </dev/null &
fi
child=$!
status=0
wait "$child" || status=$?
child=""
exit "$status"
