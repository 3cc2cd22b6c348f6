#!/usr/bin/env bash
# imap_bench.sh - benchmark: the same IMAP workload against polder-imapd and Dovecot
# (Debian's dovecot-imapd, Maildir) in one run, and a table of ops/s with the ratio
# polder/dovecot. N clients (one account each, INBOX filled with M messages beforehand)
# each run LOGIN, SELECT, FETCH headers of all M messages, FETCH whole bodies, SEARCH by
# header and by body text, STORE flags, APPEND, EXPUNGE, LOGOUT; every phase starts for
# all clients at once (see imap_bench.py for the exact commands and the checks). The
# workload runs --runs times against each server, alternating (polder, Dovecot, polder,
# ...), so a machine that gets slower or faster during the run affects both alike; the
# table shows the median of the runs and the range of the ratio. A phase of 100 STOREs
# per client takes a tenth of a second: one run alone is as much noise as measurement.
# Both servers: plain IMAP with LOGIN on 127.0.0.1 (no TLS, so the figures compare the
# IMAP servers, not OpenSSL), data on the same file system. Dovecot runs with its
# defaults (no FTS plugin, so SEARCH BODY reads the messages); polder searches with
# PostgreSQL full-text search plus a substring check. polder-imapd computes the full-text
# vectors of APPENDed messages in the background: the script waits (not timed) until the
# seeded messages have theirs before the workload starts.
#
# Then the idle part: --idle connections (LOGIN, SELECT, IDLE) against each server and
# the memory per idle connection, as PSS summed over every process of the server (Dovecot
# forks an imap process per connection; PSS counts a shared page once in total, RSS would
# count it once per process); then --idle-max connections against polder-imapd alone,
# and while they idle, the time from polder-smtpd's 250 to the IDLE "EXISTS" of the
# recipient's session (--push samples, p50/p99). See imap_idle.py.
#
# Usage: tests/bench/imap_bench.sh [BUILD_DIR] [--clients N] [--messages M]
#                                  [--fetch-bodies B] [--searches S] [--stores T] [--appends A]
#                                  [--runs R] [--idle I] [--idle-max J] [--push K]
#   BUILD_DIR (or --build DIR) defaults to build/release (scripts/dev build); a
#   Debug/sanitizer build works but measures that build.
#   Defaults: --clients 8 --messages 1000 --fetch-bodies 100 --searches 20 --stores 100 --appends 20
#             --runs 3 --idle 1000 --idle-max 10000 --push 200  (--idle 0 skips the idle part)
#   Quick try: tests/bench/imap_bench.sh build/imap --clients 2 --messages 100 --fetch-bodies 20 --searches 4 --stores 20 --appends 5 --runs 1 --idle 100 --idle-max 300 --push 20
#
# The idle accounts (100) get a cheap Argon2id cost (1 MiB, 1 pass) so that ten thousand
# logins take seconds; Dovecot's accounts use {PLAIN} passwords throughout. The workload
# accounts keep polder's default cost, so its "login" row includes a real Argon2id check.
# The open-file limit is raised (to 65536 where the hard limit allows) for both servers
# and the client.
#
# Installs the Debian package dovecot-imapd with apt-get when it is missing (root needed
# then), and starts a throwaway PostgreSQL with tests/harness/pg.sh.
#
# SECURITY: both servers listen on 127.0.0.1 only, on free ports. Dovecot is started as
# "dovecot -F -c CONF" with a private configuration, base_dir, state_dir, log and Maildir
# under a temporary folder and a passwd-file of throwaway accounts; the system's
# /etc/dovecot and the system dovecot service are never read, changed, started or
# stopped. Mail processes of both servers run as the unprivileged user "polder".
# A trap stops every process this script started (by PID) and deletes the folder, also
# on failure or Ctrl-C; every IMAP answer has a time limit.
# STANDARDS: RFC 3501 / RFC 9051 (IMAP).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/bench
PY=/usr/bin/python3
BENCH=imap_bench.sh
source "$HERE/lib.sh"

usage() { sed -n '26,34p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
BUILD=$ROOT/build/release
CLIENTS=8
MESSAGES=1000
BODIES=100
SEARCHES=20
STORES=100
APPENDS=20
RUNS=3
IDLE=1000
IDLE_MAX=10000
PUSH=200
while (($#)); do
    case $1 in
        --build) BUILD=${2:?}; shift 2 ;;
        --clients) CLIENTS=${2:?}; shift 2 ;;
        --messages) MESSAGES=${2:?}; shift 2 ;;
        --fetch-bodies) BODIES=${2:?}; shift 2 ;;
        --searches) SEARCHES=${2:?}; shift 2 ;;
        --stores) STORES=${2:?}; shift 2 ;;
        --appends) APPENDS=${2:?}; shift 2 ;;
        --runs) RUNS=${2:?}; shift 2 ;;
        --idle) IDLE=${2:?}; shift 2 ;;
        --idle-max) IDLE_MAX=${2:?}; shift 2 ;;
        --push) PUSH=${2:?}; shift 2 ;;
        -h|--help) usage ;;
        -*) echo "imap_bench.sh: unknown option $1" >&2; usage ;;
        *) BUILD=$1; shift ;;
    esac
done
for n in "$CLIENTS" "$MESSAGES" "$RUNS"; do
    [[ $n =~ ^[1-9][0-9]{0,5}$ ]] || { echo "imap_bench.sh: '$n' is not a positive number" >&2; exit 2; }
done
for n in "$BODIES" "$SEARCHES" "$STORES" "$APPENDS" "$IDLE" "$IDLE_MAX" "$PUSH"; do
    [[ $n =~ ^[0-9]{1,6}$ ]] || { echo "imap_bench.sh: '$n' is not a number" >&2; exit 2; }
done
((RUNS <= 20)) || { echo "imap_bench.sh: at most --runs 20" >&2; exit 2; }
((CLIENTS <= 500)) || { echo "imap_bench.sh: at most 500 clients" >&2; exit 2; }
((IDLE <= 5000 && IDLE_MAX <= 30000)) || { echo "imap_bench.sh: at most --idle 5000 and --idle-max 30000" >&2; exit 2; }
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
BUILD=$(realpath -m "$BUILD")
IMAPD=$BUILD/services/imap/polder-imapd
SMTPD=$BUILD/services/smtp/polder-smtpd
CTL=$BUILD/services/admin/polderctl
for b in "$IMAPD" "$SMTPD" "$CTL"; do
    [[ -x $b ]] || { echo "imap_bench.sh: $b is not built (ninja -C $BUILD polder-imapd polderctl)" >&2; exit 1; }
done

# --- outer run: packages, then the rest inside a throwaway PostgreSQL ---------------------
if [[ -z ${POLDER_IMAP_BENCH_INNER:-} ]]; then
    if [[ ! -x /usr/sbin/dovecot || ! -x /usr/lib/dovecot/imap ]]; then
        bench_install dovecot-imapd
    fi
    exec "$ROOT/tests/harness/pg.sh" run -- \
        env POLDER_IMAP_BENCH_INNER=1 "$0" --build "$BUILD" --clients "$CLIENTS" --messages "$MESSAGES" \
        --fetch-bodies "$BODIES" --searches "$SEARCHES" --stores "$STORES" --appends "$APPENDS" \
        --runs "$RUNS" --idle "$IDLE" --idle-max "$IDLE_MAX" --push "$PUSH"
fi
: "${POLDER_TEST_PGHOST:?}" "${POLDER_TEST_PGPORT:?}" "${POLDER_TEST_PGUSER:?}"

# --- inner run ------------------------------------------------------------------------------
((EUID == 0)) || { echo "imap_bench.sh: run as root (Dovecot's master needs it to switch users)" >&2; exit 1; }
id polder >/dev/null 2>&1 || { echo "imap_bench.sh: system user polder missing" >&2; exit 1; }
for u in dovecot dovenull; do
    id "$u" >/dev/null 2>&1 || { echo "imap_bench.sh: system user $u missing (dovecot-core creates it)" >&2; exit 1; }
done
PASSWORD="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
users=()
for ((i = 1; i <= CLIENTS; i++)); do users+=("bench$i@bench.example"); done
USERS=$(IFS=,; echo "${users[*]}")
idle_users=()
for ((i = 1; i <= 100; i++)); do idle_users+=("idle$i@bench.example"); done
IDLE_USERS=$(IFS=,; echo "${idle_users[*]}")
PUSH_USER=push@bench.example
# Ten thousand sockets in one server process and in the client: the soft open-file
# limit goes up to the hard one (a container may cap that below what was asked for).
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
if ((IDLE_MAX + 500 > $(ulimit -n))); then
    echo "imap_bench.sh: open-file limit $(ulimit -n): --idle-max lowered to $(($(ulimit -n) - 500))" >&2
    IDLE_MAX=$(($(ulimit -n) - 500))
fi

bench_workdir polder-imap-bench
# wait_imap PORT NAME PID LOG - until the server greets with "* OK" on PORT, at most 60 s.
wait_imap() {
    bench_wait "$2" "$3" "$4" "does not greet on port $1" "$PY" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
sys.exit(0 if s.recv(200).startswith(b"* OK") else 1)' "$1"
}

# --- polder-imapd ---------------------------------------------------------------------------
say "starting polder-imapd ($BUILD)"
db=bench_imap_$$
# An OK must mean "on disk", as Dovecot's fsyncs (mail_fsync = optimized) do.
bench_durable_pg
bench_createdb "$db"
mkdir -p "$work/polder/blobs"
chown -R polder:polder "$work/polder"
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

[imap]
threads = 2
admin_port = $P_ADMIN
max_connections = 40000
max_connections_per_ip = 40000
max_sessions_per_account = 1000

[smtp]
inbound_auth = "off"   # push latency, not SPF/DKIM/DMARC lookups
admin_port = $(free_port)
hostname = "mx.bench.example"
max_connections_per_ip = 100

[smtp.mx]
address = "127.0.0.1"
port = $(free_port)

[smtp.submission]
port = 0

[smtp.submissions]
port = 0

[imap.imaps]
port = 0

[imap.imap]
address = "127.0.0.1"
port = $P_PORT
TOML
chmod 644 "$work/polder/polder.toml"
ctl() { "$CTL" --config "$work/polder/polder.toml" "$@"; }
ctl migrate >/dev/null
ctl org add bench >/dev/null
ctl domain add bench.example --org bench >/dev/null
for u in "${users[@]}"; do
    printf '%s\n' "$PASSWORD" | ctl user add "$u" --password-stdin >/dev/null
done
# The idle accounts: same database, a cheaper Argon2id cost (see the header).
sed 's/^\[auth\]$/[auth]\nargon2_memory_kib = 1024\nargon2_iterations = 1/' "$work/polder/polder.toml" >"$work/polder/cheap.toml"
for u in "${idle_users[@]}" "$PUSH_USER"; do
    printf '%s\n' "$PASSWORD" | "$CTL" --config "$work/polder/cheap.toml" user add "$u" --password-stdin >/dev/null
done
P_SMTP=$(sed -n '/^\[smtp.mx\]/,/^port/s/^port = //p' "$work/polder/polder.toml")
"$IMAPD" --config "$work/polder/polder.toml" </dev/null >"$work/polder/imapd.log" 2>&1 &
pids+=($!)
P_PID=$!
wait_imap "$P_PORT" polder-imapd "$P_PID" "$work/polder/imapd.log"

# --- Dovecot ----------------------------------------------------------------------------------
say "starting dovecot ($(/usr/sbin/dovecot --version | cut -d' ' -f1), Maildir)"
D=$work/dovecot
D_PORT=$(free_port)
mkdir -p "$D/run" "$D/state" "$D/home"
uid=$(id -u polder)
gid=$(id -g polder)
# passwd-file: user:{PLAIN}password:uid:gid::home
for u in "${users[@]}" "${idle_users[@]}"; do
    printf '%s:{PLAIN}%s:%s:%s::%s/home/%s\n' "$u" "$PASSWORD" "$uid" "$gid" "$D" "$u"
done >"$D/passwd"
chown root:dovecot "$D/passwd"
chmod 640 "$D/passwd"
chown polder:polder "$D/home"
cat >"$D/dovecot.conf" <<CONF
# Private configuration for the benchmark only; nothing from /etc/dovecot is included.
base_dir = $D/run
state_dir = $D/state
instance_name = polder-imap-bench-$$
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
log_path = $D/dovecot.log
mail_location = maildir:~/Maildir
mail_max_userip_connections = 1000
# Room for the idle part: one imap process per connection (Dovecot's default layout), and
# the log/anvil/stats services take one client connection per process.
default_process_limit = $((IDLE + 100))
default_client_limit = $((IDLE * 3 + 1000))
first_valid_uid = $uid
last_valid_uid = $uid
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $D/passwd
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $D_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
service submission-login {
  inet_listener submission {
    port = 0
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0600
  }
}
CONF
/usr/sbin/dovecot -F -c "$D/dovecot.conf" </dev/null >"$D/stdout.log" 2>&1 &
pids+=($!)
D_PID=$!
wait_imap "$D_PORT" dovecot "$D_PID" "$D/dovecot.log"

# --- the workload -----------------------------------------------------------------------------
results=$work/results.txt
printf 'info messages %s\n' "$MESSAGES" >"$results"
wait_fts() {   # until no message of the polder database waits for its full-text vector
    local start=$SECONDS pending
    while :; do
        pending=$(psql -At -h "$POLDER_TEST_PGHOST" -p "$POLDER_TEST_PGPORT" -U "$POLDER_TEST_PGUSER" -d "$db" \
            -c "SELECT count(*) FROM mail.messages WHERE fts IS NULL")
        [[ $pending == 0 ]] && break
        if ((SECONDS - start > 600)); then
            echo "imap_bench.sh: $pending messages still without full-text vectors after 600 s" >&2
            exit 1
        fi
        sleep 0.5
    done
    say "polder: every message has its full-text vector, after $((SECONDS - start)) s (not timed)"
}
seed_server() {   # NAME PORT
    say "$1: seeding $CLIENTS x $MESSAGES messages (not timed)"
    "$PY" "$HERE/imap_bench.py" seed --port "$2" --users "$USERS" --password "$PASSWORD" \
        --messages "$MESSAGES" --clients 4
    sync
    # polder-imapd computes full-text vectors in the background after an APPEND (schema
    # 0105); wait (not timed) until the seeded messages have theirs, so that work is part
    # of the seeding, as an index is part of Dovecot's delivery, and does not land in
    # whichever phases happen to run while it catches up.
    if [[ $1 == polder ]]; then wait_fts; fi
}
run_workload() {   # NAME PORT RUN
    say "$1: workload with $CLIENTS clients (run $(($3 + 1)) of $RUNS)"
    "$PY" "$HERE/imap_bench.py" run --name "$1" --port "$2" --users "$USERS" --password "$PASSWORD" \
        --messages "$MESSAGES" --fetch-bodies "$BODIES" --searches "$SEARCHES" --stores "$STORES" \
        --appends "$APPENDS" --run "$3" >>"$results"
}
seed_server polder "$P_PORT"
seed_server dovecot "$D_PORT"
for ((run = 0; run < RUNS; run++)); do
    run_workload polder "$P_PORT" "$run"
    # The 20 APPENDed messages of each client get their full-text vectors in the
    # background, as in normal operation; the next run starts when they have them.
    wait_fts
    run_workload dovecot "$D_PORT" "$run"
done

# --- idle connections and push latency ------------------------------------------------------
idle_json=()
if ((IDLE > 0)); then
    say "polder: $IDLE idle connections"
    "$PY" "$HERE/imap_idle.py" idle --port "$P_PORT" --users "$IDLE_USERS" --password "$PASSWORD" \
        --connections "$IDLE" --pids "$P_PID" >"$work/idle-polder.json"
    say "dovecot: $IDLE idle connections"
    "$PY" "$HERE/imap_idle.py" idle --port "$D_PORT" --users "$IDLE_USERS" --password "$PASSWORD" \
        --connections "$IDLE" --pids "$D_PID" >"$work/idle-dovecot.json"
    say "polder: $IDLE_MAX idle connections, then $PUSH SMTP -> IDLE pushes"
    "$SMTPD" --config "$work/polder/polder.toml" </dev/null >"$work/polder/smtpd.log" 2>&1 &
    pids+=($!)
    S_PID=$!
    for _ in $(seq 300); do
        "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$P_SMTP" \
            2>/dev/null && break
        kill -0 "$S_PID" 2>/dev/null || { tail -n 30 "$work/polder/smtpd.log" >&2; exit 1; }
        sleep 0.1
    done
    "$PY" "$HERE/imap_idle.py" idle --port "$P_PORT" --users "$IDLE_USERS" --password "$PASSWORD" \
        --connections "$IDLE_MAX" --pids "$P_PID" --push-smtp-port "$P_SMTP" --push-user "$PUSH_USER" \
        --push "$PUSH" >"$work/idle-polder-max.json"
    idle_json=("$work/idle-polder.json" "$work/idle-dovecot.json" "$work/idle-polder-max.json")
fi

kind=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
grep -q '^POLDER_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null && kind="$kind + sanitizers"
echo
echo "IMAP benchmark: $(nproc) CPU(s), $CLIENTS clients x $MESSAGES messages (bodies $BODIES, searches $SEARCHES x 2, stores $STORES, appends $APPENDS per client; $RUNS runs each)"
echo "polder build $BUILD (${kind:-unknown type}); Dovecot $(/usr/sbin/dovecot --version) (Maildir, no FTS plugin)"
"$PY" "$HERE/imap_bench.py" table "$results"
if ((${#idle_json[@]})); then
    "$PY" - "${idle_json[@]}" <<'PY'
import json, sys
p, d, m = (json.load(open(f)) for f in sys.argv[1:4])
print()
print(f"idle connections (LOGIN, SELECT INBOX, IDLE), memory as PSS over all server processes")
print(f"{'':28}{'connections':>12}{'processes':>10}{'PSS before':>12}{'PSS after':>12}{'KiB/conn':>10}")
for name, r in (("polder-imapd", p), ("dovecot", d), ("polder-imapd", m)):
    print(f"{name:28}{r['connections']:>12}{r['processes']:>10}{r['pss_before_kib']:>10} K{r['pss_after_kib']:>10} K"
          f"{r['per_connection_kib']:>10}")
ratio = d["per_connection_kib"] / p["per_connection_kib"] if p["per_connection_kib"] > 0 else float("inf")
print(f"memory per idle connection, dovecot / polder: {ratio:.1f}x (goal >= 20x)")
print(f"push: polder-smtpd 250 -> IDLE EXISTS over {m['push_count']} messages while {m['connections']} sessions idle: "
      f"p50 {m['push_p50_ms']} ms, p99 {m['push_p99_ms']} ms, max {m['push_max_ms']} ms (goal p99 < 50 ms)")
PY
fi

for pid in "$P_PID" "$D_PID" ${S_PID:+"$S_PID"}; do
    kill -0 "$pid" 2>/dev/null || { echo "imap_bench.sh: a server (PID $pid) died during the run" >&2; exit 1; }
done
