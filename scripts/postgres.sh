#!/usr/bin/env bash
# A throw-away PostgreSQL 15 + PostGIS cluster for tests and development, under var/pg.
#
#   scripts/postgres.sh         install what is missing (apt), start or reuse the cluster,
#                               create the `cityos` database with PostGIS, print its URL last
#   scripts/postgres.sh stop    stop the cluster (its files stay; the next start reuses them)
#
# Idempotent, reads no stdin, works as root (CI, fresh Debian machines: the server runs as the
# `postgres` user) or as an ordinary user who owns the work tree (the server runs as that user).
# The cluster listens on 127.0.0.1 only, on a free port remembered in var/pg/port, trusts local
# connections and runs with fsync=off (fast database copies for the tests): it is for tests and
# development, never for real data.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PGVERSION=15
PGBIN="/usr/lib/postgresql/$PGVERSION/bin"
PGDIR="$ROOT/var/pg"
DATA="$PGDIR/data"
DB=cityos
POSTGIS_CONTROL="/usr/share/postgresql/$PGVERSION/extension/postgis.control"

log() { echo "postgres.sh: $*" >&2; }

# -- install -------------------------------------------------------------------------------------
install_packages() {
    local missing=()
    [ -x "$PGBIN/initdb" ] || missing+=(postgresql "postgresql-$PGVERSION")
    [ -f "$POSTGIS_CONTROL" ] || missing+=("postgresql-$PGVERSION-postgis-3")
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]}"
    bash "$ROOT/scripts/apt-install.sh" "${missing[@]}"
}

# -- run as the server's owner -------------------------------------------------------------------
if [ "$(id -u)" -eq 0 ]; then
    OWNER=postgres
    as_owner() { runuser -u postgres -- "$@"; }
else
    OWNER="$(id -un)"
    as_owner() { "$@"; }
fi

# The server's owner must be able to reach var/pg. When the work tree sits below a directory the
# owner cannot traverse, the cluster lives in a private directory under /var/tmp instead and
# var/pg links to it.
prepare_dir() {
    mkdir -p "$ROOT/var"
    if [ ! -e "$PGDIR" ]; then
        mkdir -p "$PGDIR"
    fi
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres:postgres "$PGDIR"/. 2>/dev/null || true
        chmod 0750 "$PGDIR"/.
        if ! as_owner test -w "$PGDIR"/. -a -x "$PGDIR"/.; then
            local hash alt
            hash="$(printf '%s' "$ROOT" | md5sum | cut -c1-12)"
            alt="/var/tmp/cityos-pg-$hash"
            log "$PGDIR is not reachable by the postgres user; using $alt"
            mkdir -p "$alt"
            chown postgres:postgres "$alt"
            chmod 0700 "$alt"
            rmdir "$PGDIR" 2>/dev/null || rm -f "$PGDIR"
            ln -sfn "$alt" "$PGDIR"
        fi
    fi
    resolve_dir
}

# The server's owner may not be able to traverse the work tree: hand it the real path.
resolve_dir() {
    if [ -e "$PGDIR" ]; then
        PGDIR="$(readlink -f "$PGDIR")"
        DATA="$PGDIR/data"
    fi
}

running() {
    [ -f "$DATA/postmaster.pid" ] && as_owner "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

free_port() {
    python3 - <<'EOF'
import socket

with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1])
EOF
}

port_free() {
    python3 - "$1" <<'EOF'
import socket
import sys

with socket.socket() as sock:
    try:
        sock.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        sys.exit(1)
EOF
}

psql_owner() {
    as_owner env PGOPTIONS="-c client_min_messages=warning" \
        "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres "$@" \
        </dev/null
}

stop_cluster() {
    resolve_dir
    if [ -d "$DATA" ] && running; then
        as_owner "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
        log "stopped"
    else
        log "not running"
    fi
}

start_cluster() {
    install_packages
    prepare_dir
    if [ ! -f "$DATA/PG_VERSION" ]; then
        rm -rf "$DATA"
        log "initialising a cluster in $DATA"
        as_owner "$PGBIN/initdb" -D "$DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
            >"$PGDIR/initdb.log" 2>&1 || { cat "$PGDIR/initdb.log" >&2; exit 1; }
    fi
    PORT=""
    [ -f "$PGDIR/port" ] && PORT="$(cat "$PGDIR/port")"
    if running && [ -n "$PORT" ] && as_owner "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
        log "reusing the cluster on port $PORT"
    else
        if running; then
            as_owner "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >&2 || true
        fi
        if [ -z "$PORT" ] || ! port_free "$PORT"; then
            PORT="$(free_port)"
        fi
        # A Unix socket path is limited to ~100 bytes: a deep work tree falls back to TCP only.
        local sockets="$PGDIR"
        if [ ${#PGDIR} -gt 80 ]; then
            sockets=""
        fi
        as_owner "$PGBIN/pg_ctl" -D "$DATA" -l "$PGDIR/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories='$sockets'" \
            -o "-c max_connections=200 -c shared_buffers=128MB -c fsync=off" \
            -o "-c full_page_writes=off -c synchronous_commit=on" \
            start >&2 || { tail -n 20 "$PGDIR/server.log" >&2; exit 1; }
        echo "$PORT" >"$PGDIR/port"
        log "started on port $PORT"
    fi
    if [ "$(psql_owner -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
        psql_owner -c "CREATE DATABASE $DB"
    fi
    psql_owner -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS postgis"
    echo "postgresql://postgres@127.0.0.1:$PORT/$DB"
}

case "${1:-start}" in
    start) start_cluster ;;
    stop) stop_cluster ;;
    *)
        echo "usage: $0 [start|stop]" >&2
        exit 2
        ;;
esac
