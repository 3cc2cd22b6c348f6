# lib.sh - what every benchmark script under tests/bench/ does the same way, sourced
# after the script has set BENCH (its name, for messages) and PY (Debian's python3):
#   bench_install PKG... [--preseed LINE]... - apt-get install what is missing
#   bench_run_as            - RUN_AS (setpriv to "polder" when root) and OWNER
#   bench_workdir PREFIX    - a private temporary folder $work, the $pids array and the
#                             trap that stops those processes and deletes the folder
#   bench_durable_pg        - PostgreSQL's durable defaults on pg.sh's throwaway cluster
#   bench_createdb NAME     - a database on that cluster
#   say, free_port (after bench_workdir), now, started_ok, wait_port, wait_http
#
# SECURITY: packages come only from the machine's APT sources; while installing, a
# temporary /usr/sbin/policy-rc.d (only if none exists) keeps the package scripts from
# starting system services (the benchmarks run private instances on loopback). The
# trap kills only the PIDs the script recorded, and deletes only its own folder.
# STANDARDS: none.

# bench_install [--preseed "DEBCONF LINE"]... PKG... - install the missing packages
# (the caller decides what is missing), as root, no service started.
bench_install() {
    local -a preseed=()
    while [[ ${1:-} == --preseed ]]; do preseed+=("${2:?}"); shift 2; done
    (($#)) || return 0
    echo "$BENCH: installing $*" >&2
    ((EUID == 0)) || { echo "$BENCH: need root to install $*" >&2; exit 1; }
    local policy_added=
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        # invoke-rc.d asks this script; 101 = "action forbidden": no service starts.
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        policy_added=1
    fi
    local line rc=0
    for line in "${preseed[@]}"; do echo "$line" | debconf-set-selections; done
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y --no-install-recommends "$@" >&2 || rc=$?
    [[ -z $policy_added ]] || rm -f /usr/sbin/policy-rc.d
    ((rc == 0)) || { echo "$BENCH: apt-get install $* failed" >&2; exit 1; }
}

# bench_run_as [--root] - RUN_AS: the prefix that runs an anchor server as "polder"
# (empty when not root); OWNER: who owns the servers' folders. --root: the script
# needs root (a server's master process switches users itself).
bench_run_as() {
    RUN_AS=()
    if ((EUID == 0)); then
        id polder >/dev/null 2>&1 || { echo "$BENCH: system user polder missing" >&2; exit 1; }
        RUN_AS=(setpriv --reuid=polder --regid=polder --clear-groups)
        OWNER=polder:polder
    elif [[ ${1:-} == --root ]]; then
        echo "$BENCH: run as root (the anchor servers' master processes switch users)" >&2
        exit 1
    else
        OWNER=$(id -u):$(id -g)
    fi
}

# bench_on_exit - the caller may redefine it: runs first in the exit trap (e.g. to
# stop a server that is not one of $pids).
bench_on_exit() { :; }

bench__cleanup() {
    local rc=$?
    bench_on_exit || true
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
    exit "$rc"
}

# bench_workdir PREFIX - $work under TMPDIR (beside pg.sh's cluster), readable by the
# servers' user; the trap stops every PID in $pids and deletes it, also on failure or
# Ctrl-C.
bench_workdir() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    chmod 755 "$work"
    pids=()
    trap bench__cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# pg ARGS... - psql on pg.sh's cluster, quiet, unaligned, stop on the first error.
pg() {
    psql -qtA -v ON_ERROR_STOP=1 -h "$POLDER_TEST_PGHOST" -p "$POLDER_TEST_PGPORT" -U "$POLDER_TEST_PGUSER" "$@"
}

# bench_durable_pg - pg.sh's throwaway cluster runs without fsync (tests need speed, not
# durability). A benchmark's "OK"/"250"/"201" must mean "on disk", as the anchors'
# fsyncs do, so the cluster gets PostgreSQL's durable defaults back
# (postgresql.auto.conf overrides pg.sh's settings; all three are reloadable).
bench_durable_pg() {
    pg -d postgres -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET synchronous_commit = on" \
        -c "ALTER SYSTEM SET full_page_writes = on" -c "SELECT pg_reload_conf()" >/dev/null
    local settings="SELECT current_setting('fsync') || current_setting('synchronous_commit') || current_setting('full_page_writes')"
    for _ in $(seq 50); do
        [[ $(pg -d postgres -c "$settings") == ononon ]] && break
        sleep 0.1
    done
    [[ $(pg -d postgres -c "$settings") == ononon ]] ||
        { echo "$BENCH: could not turn PostgreSQL's fsync on" >&2; exit 1; }
    # What was written without fsync goes to disk now, not during the measurements.
    pg -d postgres -c "CHECKPOINT" >/dev/null
}

# bench_createdb NAME - a new database on pg.sh's cluster.
bench_createdb() { pg -d postgres -c "CREATE DATABASE $1" >/dev/null; }

say() { printf '== %s\n' "$*" >&2; }
# free_port - a free TCP port on 127.0.0.1 (after bench_workdir), never one it handed out
# before in this run: the kernel may give the same port to two binds in a row, and two of
# the servers' listeners on one port fail the run. (Called as $(free_port), a subshell:
# the ports handed out are kept in $work/ports.)
free_port() {
    local p _
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        p=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        if ! grep -qx "$p" "$work/ports" 2>/dev/null; then
            echo "$p" >>"$work/ports"
            echo "$p"
            return 0
        fi
    done
    echo "$BENCH: no free port found" >&2
    return 1
}
now() { date +%s.%N; }

# started_ok NAME PID LOG - true while PID runs; otherwise prints LOG's tail.
started_ok() {
    kill -0 "$2" 2>/dev/null && return 0
    echo "$BENCH: $1 exited while starting:" >&2
    tail -n 30 "$3" >&2 || true
    return 1
}

# bench_wait NAME PID LOG WHAT CMD... - until CMD succeeds (its output discarded), at most
# 60 s; fails at once when NAME (PID) has exited, and after 60 s with "NAME WHAT".
bench_wait() {
    local name=$1 pid=$2 log=$3 what=$4
    shift 4
    for _ in $(seq 600); do
        "$@" >/dev/null 2>&1 && return 0
        started_ok "$name" "$pid" "$log" || return 1
        sleep 0.1
    done
    echo "$BENCH: $name $what" >&2
    tail -n 30 "$log" >&2 || true
    return 1
}

# wait_port PORT NAME PID LOG - until something accepts TCP on 127.0.0.1:PORT, at most 60 s.
wait_port() {
    bench_wait "$2" "$3" "$4" "does not listen on port $1" \
        "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1"
}

# wait_http NAME PID LOG URL - until something answers HTTP at URL (any status), at most 60 s.
wait_http() {
    bench_wait "$1" "$2" "$3" "does not answer at $4" curl -s -o /dev/null --max-time 2 "$4"
}
