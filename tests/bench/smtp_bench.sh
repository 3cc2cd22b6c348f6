#!/usr/bin/env bash
# smtp_bench.sh - benchmark of issue 3: the same bulk SMTP load, Postfix's smtp-source
# with S concurrent sessions sending M messages of about 20 KB in total (-d: several
# messages per connection), against
#   1. polder-smtpd (MX listener, local delivery: 250 only after the PostgreSQL commit
#      and the fsync of the blob), and
#   2. Postfix (smtpd + queue manager) delivering to Dovecot over LMTP into a maildir.
# It prints messages/s for both, the ratio polder/postfix, and Polder's end-of-DATA to
# 250 time (p50/p99): measured by a Python smtplib client on a sample of messages sent
# during the run, and from the server's polder_smtp_delivery_seconds histogram.
# Polder's time counts until the 250 (the message is in the mailbox then). Postfix's
# counts until the last message is in the Dovecot maildir (its 250 only means
# "queued"); its acceptance rate is printed as well. Afterwards the script checks
# that every message is in the mailbox exactly as many times as it was sent.
#
# Usage: tests/bench/smtp_bench.sh [BUILD_DIR] [--sessions S] [--messages M]
#                                   [--size BYTES] [--sample N]
#   BUILD_DIR (or --build DIR) defaults to build/release (scripts/dev build); a
#   Debug/sanitizer build works but measures that build. Defaults: 20 sessions,
#   5000 messages in total, 20480 bytes, 200 latency samples.
#   Quick try: tests/bench/smtp_bench.sh build/smtp --sessions 4 --messages 100
#
# Installs the Debian packages postfix (debconf: "No configuration"), dovecot-core
# and dovecot-lmtpd when missing (root needed then); while installing, a temporary
# /usr/sbin/policy-rc.d (only if none exists) keeps the package scripts from starting
# the system's postfix/dovecot services. Starts a throwaway PostgreSQL with
# tests/harness/pg.sh.
#
# SECURITY: every server listens on 127.0.0.1 only, on free ports, with a private
# configuration in a temporary folder: `postfix -c DIR start-fg` with its own
# queue_directory, data_directory and log file, `dovecot -F -c FILE` with its own
# base_dir, state and maildir. /etc/postfix and /etc/dovecot are never read for the
# run nor changed, and no system service is started, stopped or reloaded. Dovecot's
# mail processes and polder-smtpd run as the unprivileged user "polder". A trap stops
# every process this script started (by PID) and deletes the folder, also on failure
# or Ctrl-C; every phase has a time limit.
# STANDARDS: RFC 5321 (SMTP), RFC 2033 (LMTP).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/bench
PY=/usr/bin/python3
BENCH=smtp_bench.sh
source "$HERE/lib.sh"

usage() { sed -n '16,21p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
BUILD=$ROOT/build/release
SESSIONS=20
MESSAGES=5000
SIZE=20480
SAMPLE=200
while (($#)); do
    case $1 in
        --build) BUILD=${2:?}; shift 2 ;;
        --sessions) SESSIONS=${2:?}; shift 2 ;;
        --messages) MESSAGES=${2:?}; shift 2 ;;
        --size) SIZE=${2:?}; shift 2 ;;
        --sample) SAMPLE=${2:?}; shift 2 ;;
        -h|--help) usage ;;
        -*) echo "smtp_bench.sh: unknown option $1" >&2; usage ;;
        *) BUILD=$1; shift ;;
    esac
done
for n in "$SESSIONS" "$MESSAGES" "$SIZE" "$SAMPLE"; do
    [[ $n =~ ^[1-9][0-9]{0,6}$ ]] || { echo "smtp_bench.sh: '$n' is not a positive number" >&2; exit 2; }
done
((SAMPLE <= MESSAGES)) || SAMPLE=$MESSAGES   # the sample rides along the bulk run, not after it
((SESSIONS <= 200)) || { echo "smtp_bench.sh: at most 200 sessions" >&2; exit 2; }
((SIZE >= 1024 && SIZE <= 10485760)) || { echo "smtp_bench.sh: --size between 1024 and 10485760" >&2; exit 2; }
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
BUILD=$(realpath -m "$BUILD")
SMTPD=$BUILD/services/smtp/polder-smtpd
CTL=$BUILD/services/admin/polderctl
for b in "$SMTPD" "$CTL"; do
    [[ -x $b ]] || { echo "smtp_bench.sh: $b is not built (ninja -C $BUILD polder-smtpd polderctl)" >&2; exit 1; }
done

# --- outer run: packages, then the rest inside a throwaway PostgreSQL ---------
if [[ -z ${POLDER_SMTP_BENCH_INNER:-} ]]; then
    missing=()
    [[ -x /usr/sbin/smtp-source && -x /usr/sbin/postfix ]] || missing+=(postfix)
    [[ -x /usr/sbin/dovecot ]] || missing+=(dovecot-core)
    [[ -x /usr/lib/dovecot/lmtp ]] || missing+=(dovecot-lmtpd)
    bench_install --preseed "postfix postfix/main_mailer_type select No configuration" "${missing[@]}"
    POLDER_SMTP_BENCH_INNER=1 exec "$ROOT/tests/harness/pg.sh" run -- \
        env POLDER_SMTP_BENCH_INNER=1 "$0" --build "$BUILD" --sessions "$SESSIONS" \
        --messages "$MESSAGES" --size "$SIZE" --sample "$SAMPLE"
fi
: "${POLDER_TEST_PGHOST:?}" "${POLDER_TEST_PGPORT:?}" "${POLDER_TEST_PGUSER:?}"

# --- inner run ------------------------------------------------------------------
DOMAIN=bench.example
RCPT=bench@$DOMAIN
SENDER=sender@source.example
# smtp-source must manage at least 20 messages/s; anything slower is a failure here.
RUN_LIMIT=$((120 + MESSAGES / 20))
bench_run_as --root
bench_workdir polder-smtp-bench
PF=$work/postfix
postfix_started=
bench_on_exit() {
    if [[ -n $postfix_started ]]; then timeout 30 postfix -c "$PF" stop >/dev/null 2>&1 || true; fi
}
# source_run PORT LOG - smtp-source's bulk run; fails unless it finishes in time.
source_run() {
    # -d: keep each session open for further messages; -c: print a counter.
    timeout "$RUN_LIMIT" /usr/sbin/smtp-source -d -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" \
        -M source.example -f "$SENDER" -t "$RCPT" "127.0.0.1:$1" >"$2" 2>&1 || {
        echo "smtp_bench.sh: smtp-source failed or exceeded ${RUN_LIMIT}s:" >&2; tail -n 20 "$2" >&2; return 1; }
    if grep -q . "$2"; then
        echo "smtp_bench.sh: smtp-source reported errors:" >&2; tail -n 20 "$2" >&2; return 1
    fi
}

# --- polder-smtpd -------------------------------------------------------------------
say "starting polder-smtpd ($BUILD)"
db=bench_smtp_$$
# A 250 here must mean "on disk", as Postfix's queue file and Dovecot's maildir fsync do.
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

[smtp]
threads = 2
admin_port = $P_ADMIN
hostname = "mx.$DOMAIN"
max_connections_per_ip = 250
max_messages_per_hour = 0
# Like for like: the Postfix -> Dovecot chain checks no SPF/DKIM/DMARC either (and the
# benchmark has no DNS to ask).
inbound_auth = "off"

[smtp.mx]
address = "127.0.0.1"
port = $P_PORT

[smtp.submission]
port = 0

[smtp.submissions]
port = 0
TOML
chmod 644 "$work/polder/polder.toml"
ctl() { "$CTL" --config "$work/polder/polder.toml" "$@"; }
ctl migrate >/dev/null
ctl org add bench >/dev/null
ctl domain add "$DOMAIN" --org bench >/dev/null
printf '%s\n' "bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" | ctl user add "$RCPT" --password-stdin >/dev/null
"$SMTPD" --config "$work/polder/polder.toml" </dev/null >"$work/polder/smtpd.log" 2>&1 &
pids+=($!)
P_PID=$!
wait_port "$P_PORT" polder-smtpd "$P_PID" "$work/polder/smtpd.log"

say "polder: smtp-source -s $SESSIONS -m $MESSAGES -l $SIZE, plus $SAMPLE timed smtplib messages"
"$PY" "$HERE/smtp_bench.py" latency 127.0.0.1 "$P_PORT" --from "$SENDER" --to "$RCPT" \
    --count "$SAMPLE" --size "$SIZE" --deadline "$RUN_LIMIT" >"$work/latency.json" 2>"$work/latency.err" &
LAT_PID=$!
pids+=("$LAT_PID")
t0=$(now)
source_run "$P_PORT" "$work/polder/source.log"
t1=$(now)
wait "$LAT_PID" || { echo "smtp_bench.sh: latency sample failed:" >&2; cat "$work/latency.json" "$work/latency.err" >&2; exit 1; }
P_SECONDS=$("$PY" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$t0" "$t1")
"$PY" "$HERE/smtp_bench.py" histogram "http://127.0.0.1:$P_ADMIN/metrics" polder_smtp_delivery_seconds \
    >"$work/histogram.json"
stored=$(pg -d "$db" -c \
    "SELECT count(*) FROM mail.mailbox_messages mm JOIN mail.mailboxes mb ON mb.id = mm.mailbox_id
     JOIN directory.accounts a ON a.id = mb.account_id WHERE a.address = '$RCPT' AND upper(mb.name) = 'INBOX'")
SAMPLED=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$work/latency.json")
if ((stored != MESSAGES + SAMPLED)); then
    echo "smtp_bench.sh: polder INBOX holds $stored messages, expected $((MESSAGES + SAMPLED))" >&2
    exit 1
fi
kill -TERM "$P_PID"

# --- Dovecot (LMTP into a maildir) ---------------------------------------------------
say "starting dovecot (LMTP on loopback, maildir)"
D=$work/dovecot
D_PORT=$(free_port)
mkdir -p "$D/run" "$D/state" "$D/mail"
chown polder:polder "$D/mail"
cat >"$D/dovecot.conf" <<CONF
base_dir = $D/run
state_dir = $D/state
instance_name = polder-bench-$$
log_path = $D/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:$D/mail/%n/Maildir
# Same durability promise as polder: fsync before the LMTP 250 (Dovecot's default).
mail_fsync = optimized
first_valid_uid = 1
lmtp_rcpt_check_quota = no
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=polder gid=polder home=$D/mail/%n
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $D_PORT
  }
  unix_listener lmtp {
    mode = 0600
  }
}
service anvil {
  chroot =
}
service stats {
  unix_listener stats-reader {
    mode = 0600
  }
  unix_listener stats-writer {
    mode = 0600
  }
}
CONF
/usr/sbin/dovecot -F -c "$D/dovecot.conf" </dev/null >"$D/stdout.log" 2>&1 &
pids+=($!)
D_PID=$!
wait_port "$D_PORT" dovecot "$D_PID" "$D/stdout.log"

# --- Postfix (smtpd, qmgr, lmtp client) ------------------------------------------------
say "starting postfix (private instance in $PF)"
S_PORT=$(free_port)
mkdir -p "$PF/conf" "$PF/queue" "$PF/data"
PF=$PF/conf
chown postfix:postfix "$work/postfix/data"
printf '%s OK\n' "$RCPT" >"$PF/vmailbox"
cat >"$PF/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $work/postfix/queue
data_directory = $work/postfix/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.$DOMAIN
mydomain = $DOMAIN
myorigin = postfix.$DOMAIN
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
smtputf8_enable = no
biff = no
maillog_file = $work/postfix/maillog
maillog_file_prefixes = $work
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_maps = texthash:$PF/vmailbox
virtual_transport = lmtp:inet:127.0.0.1:$D_PORT
lmtp_destination_concurrency_limit = $SESSIONS
message_size_limit = 52428800
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
CONF
# chroot "n" everywhere: a chroot would need copies of system files in the queue folder.
cat >"$PF/master.cf" <<CONF
127.0.0.1:$S_PORT inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
lmtp      unix - - n - - lmtp
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
CONF
postfix -c "$PF" check >"$work/postfix/check.log" 2>&1 ||
    { echo "smtp_bench.sh: postfix check failed:" >&2; cat "$work/postfix/check.log" >&2; exit 1; }
postfix -c "$PF" start-fg </dev/null >"$work/postfix/master.log" 2>&1 &
pids+=($!)
S_PID=$!
postfix_started=1
wait_port "$S_PORT" postfix "$S_PID" "$work/postfix/maillog"

say "postfix: smtp-source -s $SESSIONS -m $MESSAGES -l $SIZE"
t0=$(now)
source_run "$S_PORT" "$work/postfix/source.log"
t1=$(now)
"$PY" "$HERE/smtp_bench.py" wait-files "$D/mail/bench/Maildir" "$MESSAGES" "$RUN_LIMIT" >"$work/maildir.count" || {
    echo "smtp_bench.sh: only $(cat "$work/maildir.count") of $MESSAGES messages reached dovecot:" >&2
    tail -n 20 "$work/postfix/maillog" >&2 || true; exit 1; }
t2=$(now)
if (($(cat "$work/maildir.count") != MESSAGES)); then
    echo "smtp_bench.sh: dovecot maildir holds $(cat "$work/maildir.count") messages, expected $MESSAGES" >&2
    exit 1
fi

# --- report ------------------------------------------------------------------------
"$PY" - "$SESSIONS" "$MESSAGES" "$SIZE" "$P_SECONDS" "$t0" "$t1" "$t2" "$work/latency.json" "$work/histogram.json" \
    "$BUILD" "$(findmnt -n -o FSTYPE --target "$work" 2>/dev/null || stat -f -c %T "$work")" <<'PY'
import json, sys
sessions, messages, size = (int(x) for x in sys.argv[1:4])
p_seconds = float(sys.argv[4])
t0, t1, t2 = (float(x) for x in sys.argv[5:8])
lat = json.load(open(sys.argv[8]))
hist = json.load(open(sys.argv[9]))
p_rate = messages / p_seconds
s_accept = messages / (t1 - t0)
s_rate = messages / (t2 - t0)
print(f"smtp_bench: {sessions} sessions x {messages} messages in total, {size} bytes each, build {sys.argv[10]}")
print(f"all data (blobs, PostgreSQL with fsync on, Postfix queue, maildir) on a {sys.argv[11]} file system")
print(f"{'':34}{'seconds':>10}{'msg/s':>10}")
print(f"{'polder-smtpd (250 = in mailbox)':34}{p_seconds:>10.2f}{p_rate:>10.1f}")
print(f"{'postfix -> dovecot (in maildir)':34}{t2 - t0:>10.2f}{s_rate:>10.1f}")
print(f"{'  (postfix 250 = queued only)':34}{t1 - t0:>10.2f}{s_accept:>10.1f}")
print(f"ratio polder / (postfix -> dovecot): {p_rate / s_rate:.2f}x (goal >= 1.5x)")
print(f"polder end-of-DATA -> 250, smtplib sample of {lat['count']} during the run: "
      f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms")
print(f"polder end-of-data -> commit, polder_smtp_delivery_seconds over {hist['count']} messages "
      f"(bucket interpolation): p50 {hist['p50_ms']} ms, p99 {hist['p99_ms']} ms")
PY
