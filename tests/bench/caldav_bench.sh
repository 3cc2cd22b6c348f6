#!/usr/bin/env bash
# caldav_bench.sh - benchmark: the same CalDAV workload against polder-caldavd, Radicale
# and Xandikos (both from Debian), in one run, and a table of the figures with the ratios
# polder/radicale and polder/xandikos:
#   - PUT of 10,000 generated events (10% recurring with EXDATE and overridden instances,
#     over 3 years, fixed seed) by 4 concurrent keep-alive clients, events/s
#   - calendar-query (time-range, getetag + calendar-data) of one week and of one year,
#     of the week with getetag only, calendar-multiget of 100 hrefs (calendar-data),
#     PROPFIND Depth 1 on the calendar, initial
#     sync-collection, and incremental sync-collection after 10 changed events:
#     median and 90th percentile of 10 runs (after one warm-up run)
#   - a correctness check: the week and year queries of every server must return exactly
#     the events the benchmark's own expansion (caldav_bench.py) expects; any difference
#     fails the run (exit status 1) after the table is printed. Xandikos 0.2.8 does not
#     expand RRULEs in time-range filters (upstream jelmer/xandikos#8), so a run that
#     includes it reports its missing recurring events and exits 1.
# Radicale 3.1.8 gets slower per PUT as the calendar grows: filling 10,000 events by PUT
# takes it more than an hour. So Radicale and Xandikos get only the first --anchor-put
# events (default 500; their PUT rate is measured on those) over HTTP and the rest is
# written into their storage directly - Radicale: one .ics per event in its collection
# folder; Xandikos: the files added to the calendar's git index and committed, as it does
# per PUT - after which every query runs on all N events for all three servers. polder
# always gets all N by PUT. --anchor-put 0 PUTs everything everywhere (the old way).
# Each server gets the same discovery (/.well-known/caldav, current-user-principal,
# calendar-home-set) and a fresh calendar made with MKCALENDAR. Authentication: polder
# checks HTTP Basic against its Argon2id accounts (with its login cache), Radicale
# checks Basic against an htpasswd file with plain passwords (its cheapest check, so
# Radicale pays nothing for it), Xandikos has no authentication (single user; Debian's
# docs put it behind a reverse proxy for that) - the request only carries the header.
# All plain HTTP on 127.0.0.1, data on the same file system, servers started with TZ=UTC.
#
# Usage: tests/bench/caldav_bench.sh [BUILD_DIR] [--events N] [--clients N] [--runs N]
#                                    [--servers polder,radicale,xandikos] [--anchor-put N]
#                                    [--save DIR]
#   --save DIR keeps results.txt and the answers (uids/) there, so runs of different
#   servers can be tabulated together: cat the results files (one "info" header is
#   enough), copy the uids/ folders into one, caldav_bench.py table FILE --uids-dir DIR.
#   BUILD_DIR (or --build DIR) defaults to build/release (scripts/dev build); a
#   Debug/sanitizer build works but measures that build. --servers picks a subset
#   (without polder no build is needed).
#   Quick try: tests/bench/caldav_bench.sh build/ical --events 1000 --runs 3
#
# Installs the Debian packages radicale and xandikos with apt-get when they are missing
# (root needed then), and starts a throwaway PostgreSQL with tests/harness/pg.sh.
#
# SECURITY: every server listens on 127.0.0.1 only, on a free port, with a private
# configuration and data in a temporary folder (radicale --config FILE, xandikos -d DIR);
# the system's /etc/radicale and the radicale/xandikos system services are never read,
# changed, started or stopped. Radicale and Xandikos run as the unprivileged user
# "polder" (as root, through setpriv without groups); polder-caldavd drops to "polder"
# itself after binding. A trap stops every process this script started (by PID) and
# deletes the folder, also on failure or Ctrl-C; each server's run has a time limit and
# every request a socket timeout.
# STANDARDS: RFC 4791 (CalDAV), RFC 4918 (WebDAV), RFC 6578 (sync-collection), RFC 6764
# (well-known URI), RFC 5545 (iCalendar), RFC 7617 (Basic).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/bench
PY=/usr/bin/python3
BENCH=caldav_bench.sh
source "$HERE/lib.sh"

usage() { sed -n '/^# Usage:/,/^#   Quick try:/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
BUILD=$ROOT/build/release
EVENTS=10000
CLIENTS=4
RUNS=10
SERVERS=polder,radicale,xandikos
ANCHOR_PUT=500          # events Radicale and Xandikos get by PUT; the rest is written to their storage
SAVE=                   # folder that keeps results.txt and the answers' UIDs after the run
RUN_LIMIT=14400         # seconds for one server's whole workload (Radicale needs ~1.5 h for 10,000)
while (($#)); do
    case $1 in
        --build) BUILD=${2:?}; shift 2 ;;
        --events) EVENTS=${2:?}; shift 2 ;;
        --clients) CLIENTS=${2:?}; shift 2 ;;
        --runs) RUNS=${2:?}; shift 2 ;;
        --servers) SERVERS=${2:?}; shift 2 ;;
        --anchor-put) ANCHOR_PUT=${2:?}; shift 2 ;;
        --save) SAVE=${2:?}; shift 2 ;;
        -h|--help) usage ;;
        -*) echo "caldav_bench.sh: unknown option $1" >&2; usage ;;
        *) BUILD=$1; shift ;;
    esac
done
[[ $EVENTS =~ ^[1-9][0-9]{2,5}$ ]] || { echo "caldav_bench.sh: --events must be 100..999999" >&2; exit 2; }
[[ $ANCHOR_PUT =~ ^[0-9]{1,6}$ ]] || { echo "caldav_bench.sh: --anchor-put must be a number (0 = PUT all)" >&2; exit 2; }
for n in "$CLIENTS" "$RUNS"; do
    [[ $n =~ ^[1-9][0-9]{0,2}$ ]] || { echo "caldav_bench.sh: '$n' is not a number 1..999" >&2; exit 2; }
done
want() { [[ ,$SERVERS, == *,$1,* ]]; }
[[ $SERVERS =~ ^(polder|radicale|xandikos)(,(polder|radicale|xandikos))*$ ]] ||
    { echo "caldav_bench.sh: --servers takes a comma-separated subset of polder,radicale,xandikos" >&2; exit 2; }
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
BUILD=$(realpath -m "$BUILD")
CALDAVD=$BUILD/services/caldav/polder-caldavd
CTL=$BUILD/services/admin/polderctl
if want polder; then
    for b in "$CALDAVD" "$CTL"; do
        [[ -x $b ]] || { echo "caldav_bench.sh: $b is not built (ninja -C $BUILD polder-caldavd polderctl)" >&2; exit 1; }
    done
fi

# --- outer run: packages, then the rest inside a throwaway PostgreSQL ---------
if [[ -z ${POLDER_CALDAV_BENCH_INNER:-} ]]; then
    missing=()
    want radicale && { [[ -x /usr/bin/radicale ]] || missing+=(radicale); }
    want xandikos && { [[ -x /usr/bin/xandikos ]] || missing+=(xandikos); }
    bench_install "${missing[@]}"
    args=(--build "$BUILD" --events "$EVENTS" --clients "$CLIENTS" --runs "$RUNS" --servers "$SERVERS"
          --anchor-put "$ANCHOR_PUT")
    [[ -z $SAVE ]] || args+=(--save "$(realpath -m "$SAVE")")
    if want polder; then
        exec "$ROOT/tests/harness/pg.sh" run -- env POLDER_CALDAV_BENCH_INNER=1 "$0" "${args[@]}"
    fi
    POLDER_CALDAV_BENCH_INNER=1 exec "$0" "${args[@]}"
fi

# --- inner run ------------------------------------------------------------------
USER_NAME=bench@bench.example
PASSWORD="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
bench_run_as
bench_workdir polder-caldav-bench
mkdir -p "$work/uids"
results=$work/results.txt
printf 'info events %s\ninfo clients %s\ninfo runs %s\ninfo seed 20260323\n' \
    "$EVENTS" "$CLIENTS" "$RUNS" >"$results"
versions=()

# --- polder-caldavd -------------------------------------------------------------------
if want polder; then
    : "${POLDER_TEST_PGHOST:?}" "${POLDER_TEST_PGPORT:?}" "${POLDER_TEST_PGUSER:?}"
    say "starting polder-caldavd ($BUILD)"
    db=bench_caldav_$$
    # A 201 must mean "on disk", as Radicale's fsynced files do.
    bench_durable_pg
    bench_createdb "$db"
    mkdir -p "$work/polder/blobs"
    chown -R "$OWNER" "$work/polder"
    P_PORT=$(free_port)
    P_ADMIN=$(free_port)
    cat >"$work/polder/polder.toml" <<TOML
[database]
host = "$POLDER_TEST_PGHOST"
port = $POLDER_TEST_PGPORT
user = "$POLDER_TEST_PGUSER"
name = "$db"
pool_size = 8

[blob]
path = "$work/polder/blobs"

[log]
level = "warn"

[auth]
allow_plaintext_on_loopback = true

[caldav]
threads = 2
admin_port = $P_ADMIN

[caldav.https]
port = 0

[caldav.http]
address = "127.0.0.1"
port = $P_PORT
TOML
    chmod 644 "$work/polder/polder.toml"
    ctl() { "$CTL" --config "$work/polder/polder.toml" "$@"; }
    ctl migrate >/dev/null
    ctl org add bench >/dev/null
    ctl domain add bench.example --org bench >/dev/null
    printf '%s\n' "$PASSWORD" | ctl user add "$USER_NAME" --password-stdin >/dev/null
    TZ=UTC "$CALDAVD" --config "$work/polder/polder.toml" </dev/null >"$work/polder/caldavd.log" 2>&1 &
    pids+=($!)
    P_PID=$!
    bench_wait polder-caldavd "$P_PID" "$work/polder/caldavd.log" "is not healthy" \
        curl -sf --max-time 2 "http://127.0.0.1:$P_ADMIN/healthz" || exit 1
    kind=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
    grep -q '^POLDER_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null && kind="$kind + sanitizers"
    versions+=("polder build $BUILD (${kind:-unknown type})")
fi

# --- Radicale --------------------------------------------------------------------------
if want radicale; then
    say "starting radicale (htpasswd, plain passwords)"
    R_PORT=$(free_port)
    R=$work/radicale
    mkdir -p "$R/collections"
    printf '%s:%s\n' "$USER_NAME" "$PASSWORD" >"$R/htpasswd"
    cat >"$R/config" <<CONF
[server]
hosts = 127.0.0.1:$R_PORT
max_connections = 16
timeout = 600

[encoding]
request = utf-8
stock = utf-8

[auth]
type = htpasswd
htpasswd_filename = $R/htpasswd
htpasswd_encryption = plain
delay = 1

[rights]
type = owner_only

[storage]
type = multifilesystem
filesystem_folder = $R/collections

[web]
type = none

[logging]
level = warning
mask_passwords = True
CONF
    chown -R "$OWNER" "$R"
    chmod 600 "$R/htpasswd"
    # --config with a file replaces the default search path (/etc/radicale/config, ~/.config).
    env -i PATH=/usr/bin:/bin HOME="$R" TZ=UTC "${RUN_AS[@]}" /usr/bin/radicale --config "$R/config" \
        </dev/null >"$R/radicale.log" 2>&1 &
    pids+=($!)
    R_PID=$!
    wait_http radicale "$R_PID" "$R/radicale.log" "http://127.0.0.1:$R_PORT/"
    versions+=("Radicale $(/usr/bin/radicale --version)")
fi

# --- Xandikos --------------------------------------------------------------------------
if want xandikos; then
    say "starting xandikos (single user, no authentication)"
    X_PORT=$(free_port)
    X=$work/xandikos
    mkdir -p "$X"
    chown -R "$OWNER" "$X"
    env -i PATH=/usr/bin:/bin HOME="$X" TZ=UTC "${RUN_AS[@]}" /usr/bin/xandikos -d "$X/data" \
        -l 127.0.0.1 -p "$X_PORT" --current-user-principal "/$USER_NAME/" --autocreate \
        </dev/null >"$X/xandikos.log" 2>&1 &
    pids+=($!)
    X_PID=$!
    wait_http xandikos "$X_PID" "$X/xandikos.log" "http://127.0.0.1:$X_PORT/health"
    versions+=("Xandikos $(/usr/bin/xandikos --version 2>&1 | awk '{print $NF}')")
fi

# --- the workload ---------------------------------------------------------------------------
run_workload() {   # NAME BASE_URL PID LOG [FILL_KIND FILL_DIR]
    local fill=()
    if [[ -n ${5:-} ]] && ((ANCHOR_PUT > 0)); then
        fill=(--put-count "$ANCHOR_PUT" --fill-kind "$5" --fill-dir "$6" --fill-owner "$OWNER")
    fi
    sync
    timeout --kill-after=10 "$RUN_LIMIT" "$PY" "$HERE/caldav_bench.py" run --name "$1" --url "$2" \
        --user "$USER_NAME" --password "$PASSWORD" --events "$EVENTS" --clients "$CLIENTS" \
        --runs "$RUNS" --uids-dir "$work/uids" "${fill[@]}" >>"$results" ||
        { echo "caldav_bench.sh: the $1 workload failed; last lines of its log:" >&2; tail -n 20 "$4" >&2; return 1; }
    kill -0 "$3" 2>/dev/null || { echo "caldav_bench.sh: $1 (PID $3) died during the run" >&2; tail -n 30 "$4" >&2; return 1; }
}
# A server whose workload fails does not stop the others: its rows stay empty and the
# run exits 1 at the end.
failed=()
if want polder; then
    run_workload polder "http://127.0.0.1:$P_PORT" "$P_PID" "$work/polder/caldavd.log" || failed+=(polder)
fi
if want radicale; then
    run_workload radicale "http://127.0.0.1:$R_PORT" "$R_PID" "$R/radicale.log" \
        radicale "$R/collections/collection-root" || failed+=(radicale)
fi
if want xandikos; then
    run_workload xandikos "http://127.0.0.1:$X_PORT" "$X_PID" "$X/xandikos.log" \
        xandikos "$X/data" || failed+=(xandikos)
fi

if [[ -n $SAVE ]]; then
    mkdir -p "$SAVE/uids"
    cp "$results" "$SAVE/results.txt"
    cp "$work/uids/"* "$SAVE/uids/" 2>/dev/null || true
    say "results and answers kept in $SAVE (tabulate several: caldav_bench.py table FILE --uids-dir DIR)"
fi
echo
( IFS=';'; echo "CalDAV benchmark: $(nproc) CPU(s), ${versions[*]}" | sed 's/;/, /g' )
rc=0
"$PY" "$HERE/caldav_bench.py" table "$results" --uids-dir "$work/uids" || rc=$?
if ((${#failed[@]})); then
    echo "caldav_bench.sh: FAILED: the workload of ${failed[*]} did not complete (see the messages above)" >&2
    rc=1
fi
exit "$rc"
