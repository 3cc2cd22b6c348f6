#!/usr/bin/env bash
# imap_bench.sh - benchmark: the same IMAP workload against polder-imapd and Dovecot
# (Debian's dovecot-imapd, Maildir) in one run, and a table of ops/s with the ratio
# polder/dovecot. N clients (one account each, INBOX filled with M messages beforehand)
# each run LOGIN, SELECT, FETCH headers of all M messages, FETCH whole bodies, SEARCH by
# header and by body text, STORE flags, APPEND, EXPUNGE, LOGOUT; every phase starts for
# all clients at once (see imap_bench.py for the exact commands and the checks).
# Both servers: plain IMAP with LOGIN on 127.0.0.1 (no TLS, so the figures compare the
# IMAP servers, not OpenSSL), data on the same file system. Dovecot runs with its
# defaults (no FTS plugin, so SEARCH BODY reads the messages); polder searches with
# PostgreSQL full-text search plus a substring check.
#
# Usage: tests/bench/imap_bench.sh [BUILD_DIR] [--clients N] [--messages M]
#                                  [--fetch-bodies B] [--searches S] [--stores T] [--appends A]
#   BUILD_DIR (or --build DIR) defaults to build/release (scripts/dev build); a
#   Debug/sanitizer build works but measures that build.
#   Defaults: --clients 8 --messages 1000 --fetch-bodies 100 --searches 20 --stores 100 --appends 20
#   Quick try: tests/bench/imap_bench.sh build/imap --clients 2 --messages 100 --fetch-bodies 20 --searches 4 --stores 20 --appends 5
#
# Not measured yet (issue 4): 1,000 / 10,000 concurrent IDLE connections (PSS per
# connection) and the SMTP 250 -> IDLE EXISTS push latency.
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

usage() { sed -n '13,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
BUILD=$ROOT/build/release
CLIENTS=8
MESSAGES=1000
BODIES=100
SEARCHES=20
STORES=100
APPENDS=20
while (($#)); do
    case $1 in
        --build) BUILD=${2:?}; shift 2 ;;
        --clients) CLIENTS=${2:?}; shift 2 ;;
        --messages) MESSAGES=${2:?}; shift 2 ;;
        --fetch-bodies) BODIES=${2:?}; shift 2 ;;
        --searches) SEARCHES=${2:?}; shift 2 ;;
        --stores) STORES=${2:?}; shift 2 ;;
        --appends) APPENDS=${2:?}; shift 2 ;;
        -h|--help) usage ;;
        -*) echo "imap_bench.sh: unknown option $1" >&2; usage ;;
        *) BUILD=$1; shift ;;
    esac
done
for n in "$CLIENTS" "$MESSAGES"; do
    [[ $n =~ ^[1-9][0-9]{0,5}$ ]] || { echo "imap_bench.sh: '$n' is not a positive number" >&2; exit 2; }
done
for n in "$BODIES" "$SEARCHES" "$STORES" "$APPENDS"; do
    [[ $n =~ ^[0-9]{1,6}$ ]] || { echo "imap_bench.sh: '$n' is not a number" >&2; exit 2; }
done
((CLIENTS <= 500)) || { echo "imap_bench.sh: at most 500 clients" >&2; exit 2; }
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
BUILD=$(realpath -m "$BUILD")
IMAPD=$BUILD/services/imap/polder-imapd
CTL=$BUILD/services/admin/polderctl
for b in "$IMAPD" "$CTL"; do
    [[ -x $b ]] || { echo "imap_bench.sh: $b is not built (ninja -C $BUILD polder-imapd polderctl)" >&2; exit 1; }
done

# --- outer run: packages, then the rest inside a throwaway PostgreSQL ---------------------
if [[ -z ${POLDER_IMAP_BENCH_INNER:-} ]]; then
    if [[ ! -x /usr/sbin/dovecot || ! -x /usr/lib/dovecot/imap ]]; then
        echo "imap_bench.sh: installing dovecot-imapd" >&2
        ((EUID == 0)) || { echo "imap_bench.sh: need root to install dovecot-imapd" >&2; exit 1; }
        # policy-rc.d or not: the system service is not what this script uses.
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dovecot-imapd >&2
    fi
    exec "$ROOT/tests/harness/pg.sh" run -- \
        env POLDER_IMAP_BENCH_INNER=1 "$0" --build "$BUILD" --clients "$CLIENTS" --messages "$MESSAGES" \
        --fetch-bodies "$BODIES" --searches "$SEARCHES" --stores "$STORES" --appends "$APPENDS"
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

work=$(mktemp -d /tmp/polder-imap-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    local rc=$?
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '== %s\n' "$*" >&2; }
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_imap PORT NAME PID LOG - until the server greets with "* OK" on PORT, at most 60 s.
wait_imap() {
    for _ in $(seq 600); do
        if "$PY" - "$1" <<'PY' 2>/dev/null; then return 0; fi
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
sys.exit(0 if s.recv(200).startswith(b"* OK") else 1)
PY
        kill -0 "$3" 2>/dev/null || break
        sleep 0.1
    done
    echo "imap_bench.sh: $2 does not greet on port $1:" >&2
    tail -n 30 "$4" >&2 || true
    return 1
}

# --- polder-imapd ---------------------------------------------------------------------------
say "starting polder-imapd ($BUILD)"
db=bench_imap_$$
psql -q -h "$POLDER_TEST_PGHOST" -p "$POLDER_TEST_PGPORT" -U "$POLDER_TEST_PGUSER" -d postgres \
    -c "CREATE DATABASE $db" >/dev/null
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
max_connections_per_ip = 1000

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
for u in "${users[@]}"; do
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
run_workload() {   # NAME PORT
    say "$1: seeding $CLIENTS x $MESSAGES messages (not timed)"
    "$PY" "$HERE/imap_bench.py" seed --port "$2" --users "$USERS" --password "$PASSWORD" \
        --messages "$MESSAGES" --clients 4
    sync
    say "$1: workload with $CLIENTS clients"
    "$PY" "$HERE/imap_bench.py" run --name "$1" --port "$2" --users "$USERS" --password "$PASSWORD" \
        --messages "$MESSAGES" --fetch-bodies "$BODIES" --searches "$SEARCHES" --stores "$STORES" \
        --appends "$APPENDS" >>"$results"
}
run_workload polder "$P_PORT"
run_workload dovecot "$D_PORT"

kind=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
grep -q '^POLDER_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null && kind="$kind + sanitizers"
echo
echo "IMAP benchmark: $(nproc) CPU(s), $CLIENTS clients x $MESSAGES messages (bodies $BODIES, searches $SEARCHES x 2, stores $STORES, appends $APPENDS per client)"
echo "polder build $BUILD (${kind:-unknown type}); Dovecot $(/usr/sbin/dovecot --version) (Maildir, no FTS plugin)"
"$PY" "$HERE/imap_bench.py" table "$results"

for pid in "$P_PID" "$D_PID"; do
    kill -0 "$pid" 2>/dev/null || { echo "imap_bench.sh: a server (PID $pid) died during the run" >&2; exit 1; }
done
