#!/usr/bin/env bash
# pg.sh - create, start and stop private PostgreSQL 15 clusters for Polder's
# development instance (scripts/dev up) and its tests (scripts/dev test).
#
# Sourced by scripts/dev (functions pg_*, polder_user_*), or run as a command:
#
#   tests/harness/pg.sh run [--] COMMAND...
#       start a throwaway cluster (trust auth on 127.0.0.1, its own free port,
#       in a fresh temporary folder), run COMMAND with POLDER_TEST_PGHOST,
#       POLDER_TEST_PGPORT and POLDER_TEST_PGUSER exported, then stop the
#       cluster and delete the folder, also when COMMAND fails or on Ctrl-C.
#       Exits with COMMAND's status.
#   tests/harness/pg.sh init DIR PORT trust|scram-sha-256 [--fast]
#       initdb into DIR/data (for scram-sha-256 the password of role polder is
#       read from stdin); --fast turns off fsync for test clusters.
#   tests/harness/pg.sh start DIR | stop DIR | status DIR
#
# Cluster folder layout: DIR/data (PGDATA), DIR/run (Unix socket), DIR/postgresql.log.
# Settings scripts/dev owns live in DIR/data/polder.conf, included from
# postgresql.conf, so the port can be changed without touching the rest.
#
# SECURITY: initdb and postgres refuse to run as root, and should not: as root,
# every PostgreSQL program runs as the unprivileged system user (default
# "polder", created if missing) through setpriv, which drops all groups and
# capabilities. Clusters listen on 127.0.0.1 only. "trust" is for throwaway
# test clusters only; the development cluster uses scram-sha-256 with a
# generated password. The cluster runs in its own session (setsid), so a
# Ctrl-C in the terminal reaches the caller, which stops it in order.
# STANDARDS: none (PostgreSQL 15 server tools: initdb, pg_ctl).

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
POLDER_SYSTEM_USER=${POLDER_SYSTEM_USER:-polder}
PG_HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_START_TIMEOUT=${PG_START_TIMEOUT:-90}

pg__say() { printf '%s\n' "$*" >&2; }
pg__fail() { pg__say "pg.sh: $*"; return 1; }

# polder_user_ensure - create the unprivileged system user when running as
# root and it does not exist yet (same options as the operations guide).
polder_user_ensure() {
    [[ $(id -u) -eq 0 ]] || return 0
    if ! getent passwd "$POLDER_SYSTEM_USER" >/dev/null; then
        pg__say "Creating the system user $POLDER_SYSTEM_USER"
        useradd --system --create-home --home-dir "/var/lib/$POLDER_SYSTEM_USER" \
            --shell /usr/sbin/nologin "$POLDER_SYSTEM_USER"
    fi
}

# polder_user_home - the system user's home folder (for HOME when running as it).
polder_user_home() {
    local home
    home=$(getent passwd "$POLDER_SYSTEM_USER" | cut -d: -f6)
    if [[ -z $home || ! -d $home ]]; then home=/; fi
    printf '%s\n' "$home"
}

# as_polder CMD... - run CMD as the system user when we are root, as ourselves
# otherwise. It starts in / because the caller's folder (often /root) may not
# be readable by that user.
as_polder() {
    if [[ $(id -u) -eq 0 ]]; then
        (cd / && HOME=$(polder_user_home) LC_ALL=C.UTF-8 \
            setpriv --reuid="$POLDER_SYSTEM_USER" --regid="$POLDER_SYSTEM_USER" --init-groups -- "$@")
    else
        (cd / && LC_ALL=C.UTF-8 "$@")
    fi
}

# polder_can_reach PATH [r|w|x] - whether the user services run as may read
# (default), write or execute PATH; used to explain permission problems early.
polder_can_reach() {
    local path=$1 mode=${2:-r}
    as_polder test "-$mode" "$path"
}

# polder_own PATH... - hand folders/files to the system user (no-op unless root).
polder_own() {
    [[ $(id -u) -eq 0 ]] || return 0
    chown "$POLDER_SYSTEM_USER:$POLDER_SYSTEM_USER" "$@"
}

pg__free_port() { /usr/bin/python3 "$PG_HARNESS_DIR/free_port.py" "$@"; }

# pg_write_settings DIR PORT [--fast] - (re)write DIR/data/polder.conf.
pg_write_settings() {
    local dir=$1 port=$2 fast=${3:-}
    local socket_dir="$dir/run" sockets
    # A Unix socket path may hold 107 bytes; beyond that PostgreSQL refuses to
    # start, so very deep folders get TCP only (clients here use 127.0.0.1).
    if (( ${#socket_dir} + ${#port} + 10 <= 107 )); then
        sockets="'$socket_dir'"
    else
        sockets="''"
    fi
    {
        echo "# Written by tests/harness/pg.sh; the rest of postgresql.conf is initdb's."
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $port"
        echo "unix_socket_directories = $sockets"
        echo "log_line_prefix = '%m [%p] %q%u@%d '"
        if [[ $fast == --fast ]]; then
            echo "# Throwaway test cluster: durability is not needed, speed is."
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
            echo "max_connections = 300"
        fi
    } | as_polder tee "$dir/data/polder.conf" >/dev/null
}

# pg_port DIR - the port written in DIR/data/polder.conf.
pg_port() {
    sed -n "s/^port = \([0-9]\+\)$/\1/p" "$1/data/polder.conf" 2>/dev/null | head -n1
}

# pg_init DIR PORT AUTH [--fast] - initdb a new cluster; for scram-sha-256 the
# superuser's password comes on stdin (never on a command line).
pg_init() {
    local dir=$1 port=$2 auth=$3 fast=${4:-}
    case $auth in trust|scram-sha-256) ;; *) pg__fail "unknown auth method '$auth'"; return 1 ;; esac
    [[ -x $PG_BIN/initdb ]] || { pg__fail "$PG_BIN/initdb not found (install postgresql-15)"; return 1; }
    mkdir -p "$dir"
    chmod 0700 "$dir"
    mkdir -p "$dir/run"
    polder_own "$dir" "$dir/run"
    if ! polder_can_reach "$dir" w; then
        pg__fail "user $POLDER_SYSTEM_USER cannot write $dir: make its parent folders traversable (chmod o+x)"
        return 1
    fi
    local args=(-D "$dir/data" -U "$POLDER_SYSTEM_USER" --encoding=UTF8 --locale=C.UTF-8
                --auth-local="$auth" --auth-host="$auth")
    # A throwaway cluster need not be fsynced to disk at creation either.
    [[ $fast == --fast ]] && args+=(--no-sync)
    local rc=0
    if [[ $auth == scram-sha-256 ]]; then
        # initdb reads the password from a file; it lives, owned by the cluster's
        # user and inside its 0700 folder, only while initdb runs.
        as_polder sh -c 'umask 077 && cat >"$1"' sh "$dir/.pwfile"
        args+=(--pwfile="$dir/.pwfile")
        as_polder "$PG_BIN/initdb" "${args[@]}" >"$dir/initdb.log" 2>&1 </dev/null || rc=$?
        rm -f "$dir/.pwfile"
    else
        as_polder "$PG_BIN/initdb" "${args[@]}" >"$dir/initdb.log" 2>&1 </dev/null || rc=$?
    fi
    if ((rc != 0)); then
        pg__say "initdb failed:"
        tail -n 20 "$dir/initdb.log" >&2
        return 1
    fi
    echo "include_if_exists = 'polder.conf'" | as_polder tee -a "$dir/data/postgresql.conf" >/dev/null
    pg_write_settings "$dir" "$port" "$fast"
}

# pg_running DIR - whether the cluster's postmaster is alive.
pg_running() {
    [[ -f $1/data/postmaster.pid ]] && as_polder "$PG_BIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

# pg_start DIR [LOGFILE] - start the cluster in its own session and wait until
# it accepts connections; on failure show the end of its log (default
# DIR/postgresql.log).
pg_start() {
    local dir=$1 log=${2:-$1/postgresql.log}
    if pg_running "$dir"; then return 0; fi
    touch "$log"
    polder_own "$log"
    if ! as_polder setsid --wait "$PG_BIN/pg_ctl" -D "$dir/data" -l "$log" \
            -w -t "$PG_START_TIMEOUT" -s start </dev/null 8>&- 9>&-; then
        pg__say "PostgreSQL in $dir did not start; end of $log:"
        tail -n 20 "$log" >&2
        return 1
    fi
}

# pg_stop DIR - fast shutdown (active sessions are cut, nothing committed is
# lost); immediate if that does not finish in time.
pg_stop() {
    local dir=$1
    pg_running "$dir" || return 0
    if ! as_polder "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 -s stop; then
        pg__say "PostgreSQL in $dir did not stop in 60s; stopping it immediately"
        as_polder "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 -s stop || true
    fi
}

# pg_throwaway_start - a fresh trust-auth cluster in a temporary folder on a
# free port; sets PG_THROWAWAY_DIR and exports POLDER_TEST_PG*. The caller
# must arrange pg_throwaway_stop (a trap) before calling it.
pg_throwaway_start() {
    polder_user_ensure
    PG_THROWAWAY_DIR=$(mktemp -d "${TMPDIR:-/tmp}/polder-pg.XXXXXX")
    chmod 0755 "$PG_THROWAWAY_DIR"
    local port attempt
    port=$(pg__free_port)
    pg_init "$PG_THROWAWAY_DIR/cluster" "$port" trust --fast || return 1
    # Another process may take the port between choosing and binding it.
    for attempt in 1 2 3; do
        if pg_start "$PG_THROWAWAY_DIR/cluster"; then break; fi
        (( attempt < 3 )) || return 1
        port=$(pg__free_port)
        pg__say "retrying on port $port"
        pg_write_settings "$PG_THROWAWAY_DIR/cluster" "$port" --fast
    done
    export POLDER_TEST_PGHOST=127.0.0.1
    export POLDER_TEST_PGPORT=$port
    export POLDER_TEST_PGUSER=$POLDER_SYSTEM_USER
}

# pg_throwaway_stop - stop and delete what pg_throwaway_start made (idempotent).
pg_throwaway_stop() {
    [[ -n ${PG_THROWAWAY_DIR:-} && -d $PG_THROWAWAY_DIR ]] || return 0
    pg_stop "$PG_THROWAWAY_DIR/cluster" || true
    rm -rf -- "$PG_THROWAWAY_DIR"
    PG_THROWAWAY_DIR=
}

pg__usage() {
    sed -n '4,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

pg__main() {
    set -euo pipefail
    umask 022
    local cmd=${1:-}
    shift || true
    case $cmd in
        run)
            [[ ${1:-} == -- ]] && shift
            [[ $# -gt 0 ]] || { pg__usage; exit 64; }
            trap 'pg_throwaway_stop' EXIT
            trap 'exit 130' INT
            trap 'exit 143' TERM
            pg_throwaway_start
            pg__say "PostgreSQL (throwaway) on 127.0.0.1:$POLDER_TEST_PGPORT, user $POLDER_TEST_PGUSER"
            local rc=0
            "$@" || rc=$?
            exit "$rc"
            ;;
        init)
            [[ $# -ge 3 ]] || { pg__usage; exit 64; }
            polder_user_ensure
            pg_init "$1" "$2" "$3" "${4:-}"
            ;;
        start)  [[ $# -eq 1 ]] || { pg__usage; exit 64; }; pg_start "$1" ;;
        stop)   [[ $# -eq 1 ]] || { pg__usage; exit 64; }; pg_stop "$1" ;;
        status)
            [[ $# -eq 1 ]] || { pg__usage; exit 64; }
            if pg_running "$1"; then echo "running on 127.0.0.1:$(pg_port "$1")"; else echo "stopped"; exit 3; fi
            ;;
        -h|--help|help) pg__usage ;;
        *) pg__usage; exit 64 ;;
    esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    pg__main "$@"
fi
