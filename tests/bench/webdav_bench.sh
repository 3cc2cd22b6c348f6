#!/usr/bin/env bash
# webdav_bench.sh - benchmark: the same WebDAV workload against polder-webdavd,
# Apache httpd (mod_dav + mod_dav_fs) and nginx (http_dav + dav-ext), in one
# run, and a table of the figures with the ratios polder/apache and
# polder/nginx:
#   - PUT and GET of one big file (default 1 GiB; curl -T, and a Python client reading
#     into a 1 MiB buffer: webdav_bench.py get, the median of 3 GETs), MB/s
#   - PUT of many 4 KiB files (default 2,000) by 8 parallel keep-alive clients, files/s
#   - PROPFIND Depth 1 (allprop) on that folder, median ms of 20 runs
#   - cat of the big file to /dev/null: the local limit (page cache / disk)
#   - dd of the big file into a new file on the servers' file system, with fsync: the
#     local write limit, what a PUT that keeps its bytes can reach
#   - iperf3 -Z for 3 seconds, one TCP stream over 127.0.0.1: what the loopback carries
#     to one client on this machine without HTTP or a file system (a sendfile sender and
#     a C receiver; it moved between 1.9 and 4.1 GB/s from run to run on the 2-CPU VM)
# The whole workload runs --repeat times (default 3) against each server, in rounds
# (polder, apache, nginx; polder, ...), each round on new names; the table shows the
# median of each figure and the range of the per-round ratios (a single 1 GiB GET
# lasts a third of a second, and single runs of it differed by half).
# All three servers get HTTP Basic authentication over plain HTTP on
# 127.0.0.1 (Apache and nginx with a {SHA} password file, polder with its
# Argon2id accounts and login cache), no access log, and data on the same
# file system. Polder fsyncs every file before answering a PUT and records it
# in PostgreSQL (versions, ETags, sync tokens); Apache and nginx do neither, so
# the small-file figure compares a durable store with a plain file server.
#
# Usage: tests/bench/webdav_bench.sh [BUILD_DIR] [--size-mib N] [--files N]
#                                     [--runs N] [--clients N] [--repeat R]
#   --runs: PROPFINDs per round (median); --repeat: rounds (1-20).
#   BUILD_DIR (or --build DIR) defaults to build/release (scripts/dev build);
#   a Debug/sanitizer build such as build/dav works but measures that build.
#   Quick try: tests/bench/webdav_bench.sh build/dav --size-mib 64 --files 200 --repeat 1
#
# Installs the Debian packages apache2, nginx, libnginx-mod-http-dav-ext and iperf3
# with apt-get when they are missing (root needed then), and starts a
# throwaway PostgreSQL with tests/harness/pg.sh.
#
# SECURITY: every server listens on 127.0.0.1 only, on free ports, with a
# private configuration in a temporary folder (apache2 -f CONF -DFOREGROUND,
# nginx -c CONF -p PREFIX -e LOG); no system configuration or system service
# is read, changed, started or stopped. Apache and nginx run as an
# unprivileged user (as root: the system user "polder" through setpriv,
# without groups); polder-webdavd drops to "polder" itself after binding.
# A trap stops every process this script started (by PID) and deletes the
# folder, also on failure or Ctrl-C; each transfer has a time limit.
# STANDARDS: RFC 4918 (WebDAV), RFC 9110/9112 (HTTP), RFC 7617 (Basic).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/bench
PY=/usr/bin/python3
BENCH=webdav_bench.sh
source "$HERE/lib.sh"

usage() { sed -n '21,26p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
BUILD=$ROOT/build/release
SIZE_MIB=1024
FILES=2000
RUNS=20
CLIENTS=8
REPEAT=3
while (($#)); do
    case $1 in
        --build) BUILD=${2:?}; shift 2 ;;
        --size-mib) SIZE_MIB=${2:?}; shift 2 ;;
        --files) FILES=${2:?}; shift 2 ;;
        --runs) RUNS=${2:?}; shift 2 ;;
        --clients) CLIENTS=${2:?}; shift 2 ;;
        --repeat) REPEAT=${2:?}; shift 2 ;;
        -h|--help) usage ;;
        -*) echo "webdav_bench.sh: unknown option $1" >&2; usage ;;
        *) BUILD=$1; shift ;;
    esac
done
for n in "$SIZE_MIB" "$FILES" "$RUNS" "$CLIENTS" "$REPEAT"; do
    [[ $n =~ ^[1-9][0-9]{0,6}$ ]] || { echo "webdav_bench.sh: '$n' is not a positive number" >&2; exit 2; }
done
((REPEAT <= 20)) || { echo "webdav_bench.sh: at most 20 rounds (--repeat)" >&2; exit 2; }
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
BUILD=$(realpath -m "$BUILD")
WEBDAVD=$BUILD/services/webdav/polder-webdavd
CTL=$BUILD/services/admin/polderctl
for b in "$WEBDAVD" "$CTL"; do
    [[ -x $b ]] || { echo "webdav_bench.sh: $b is not built (ninja -C $BUILD polder-webdavd polderctl)" >&2; exit 1; }
done

# --- outer run: packages, then the rest inside a throwaway PostgreSQL ---------
if [[ -z ${POLDER_WEBDAV_BENCH_INNER:-} ]]; then
    missing=()
    [[ -x /usr/sbin/apache2 && -f /usr/lib/apache2/modules/mod_dav_fs.so ]] || missing+=(apache2)
    [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
    [[ -f /usr/lib/nginx/modules/ngx_http_dav_ext_module.so ]] || missing+=(libnginx-mod-http-dav-ext)
    [[ -x /usr/bin/iperf3 ]] || missing+=(iperf3)
    bench_install --preseed "iperf3 iperf3/start_daemon boolean false" "${missing[@]}"
    exec "$ROOT/tests/harness/pg.sh" run -- \
        env POLDER_WEBDAV_BENCH_INNER=1 "$0" --build "$BUILD" --size-mib "$SIZE_MIB" --files "$FILES" \
        --runs "$RUNS" --clients "$CLIENTS" --repeat "$REPEAT"
fi
: "${POLDER_TEST_PGHOST:?}" "${POLDER_TEST_PGPORT:?}" "${POLDER_TEST_PGUSER:?}"

# --- inner run ------------------------------------------------------------------
SIZE=$((SIZE_MIB * 1024 * 1024))
if ((SIZE_MIB % 1024 == 0)); then LABEL="$((SIZE_MIB / 1024))GiB"; else LABEL="${SIZE_MIB}MiB"; fi
MAX_TIME=$((600 + SIZE_MIB))          # seconds for one big transfer: >= 1 MB/s plus slack
USER_NAME=bench@bench.example
PASSWORD="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
bench_run_as
bench_workdir polder-webdav-bench
# Big source file: random data, so no server could compress or deduplicate it.
say "creating the ${LABEL} source file"
head -c "$SIZE" /dev/urandom >"$work/big.bin"
"$PY" - "$work/htpasswd" "$USER_NAME" "$PASSWORD" <<'PY'
import base64, hashlib, sys
path, user, password = sys.argv[1:4]
with open(path, "w") as f:
    f.write(f"{user}:{{SHA}}{base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()}\n")
PY
chmod 644 "$work/htpasswd"

# --- polder-webdavd -------------------------------------------------------------------
say "starting polder-webdavd ($BUILD)"
db=bench_webdav_$$
# A 201 must mean "on disk": the blob's fsync and a durable commit.
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

[webdav]
threads = 2
admin_port = $P_ADMIN
max_file_size = "100G"

[webdav.https]
port = 0

[webdav.http]
address = "127.0.0.1"
port = $P_PORT
TOML
chmod 644 "$work/polder/polder.toml"
ctl() { "$CTL" --config "$work/polder/polder.toml" "$@"; }
ctl migrate >/dev/null
ctl org add bench >/dev/null
ctl domain add bench.example --org bench >/dev/null
printf '%s\n' "$PASSWORD" | ctl user add "$USER_NAME" --password-stdin >/dev/null
"$WEBDAVD" --config "$work/polder/polder.toml" </dev/null >"$work/polder/webdavd.log" 2>&1 &
pids+=($!)
P_PID=$!
bench_wait polder-webdavd "$P_PID" "$work/polder/webdavd.log" "is not healthy" \
    curl -sf --max-time 2 "http://127.0.0.1:$P_ADMIN/healthz" || exit 1

# --- Apache httpd ----------------------------------------------------------------------
say "starting apache2 (mod_dav, mod_dav_fs)"
A_PORT=$(free_port)
mkdir -p "$work/apache/run" "$work/apache/www/dav"
M=/usr/lib/apache2/modules
cat >"$work/apache/httpd.conf" <<CONF
ServerRoot "$work/apache"
ServerName 127.0.0.1
Listen 127.0.0.1:$A_PORT
LoadModule mpm_event_module $M/mod_mpm_event.so
LoadModule authn_core_module $M/mod_authn_core.so
LoadModule authn_file_module $M/mod_authn_file.so
LoadModule auth_basic_module $M/mod_auth_basic.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule authz_user_module $M/mod_authz_user.so
LoadModule dav_module $M/mod_dav.so
LoadModule dav_fs_module $M/mod_dav_fs.so
PidFile "$work/apache/run/httpd.pid"
DefaultRuntimeDir "$work/apache/run"
Mutex file:$work/apache/run default
ErrorLog "$work/apache/error.log"
LogLevel warn
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 60
Timeout 300
LimitRequestBody 0
EnableSendfile On
DAVLockDB "$work/apache/run/davlock"
DocumentRoot "$work/apache/www"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "$work/apache/www/dav">
    Dav On
    AuthType Basic
    AuthName "bench"
    AuthBasicProvider file
    AuthUserFile "$work/htpasswd"
    Require valid-user
</Directory>
CONF
chown -R "$OWNER" "$work/apache"
"${RUN_AS[@]}" /usr/sbin/apache2 -f "$work/apache/httpd.conf" -DFOREGROUND </dev/null \
    >"$work/apache/stdout.log" 2>&1 &
pids+=($!)
A_PID=$!

# --- nginx ---------------------------------------------------------------------------------
say "starting nginx (http_dav, dav-ext)"
N_PORT=$(free_port)
N=$work/nginx
mkdir -p "$N/www/dav" "$N/www/.tmp" "$N/temp"
cat >"$N/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 2;
pid $N/nginx.pid;
error_log $N/error.log warn;
load_module /usr/lib/nginx/modules/ngx_http_dav_ext_module.so;
events { worker_connections 256; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 100000;
    keepalive_timeout 60s;
    client_max_body_size 0;
    # Bodies land beside the files (same file system), so a PUT ends in a rename.
    client_body_temp_path $N/www/.tmp;
    proxy_temp_path $N/temp/proxy;
    fastcgi_temp_path $N/temp/fastcgi;
    uwsgi_temp_path $N/temp/uwsgi;
    scgi_temp_path $N/temp/scgi;
    server {
        listen 127.0.0.1:$N_PORT;
        root $N/www;
        location /dav/ {
            auth_basic "bench";
            auth_basic_user_file $work/htpasswd;
            dav_methods PUT DELETE MKCOL COPY MOVE;
            dav_ext_methods PROPFIND OPTIONS;
            create_full_put_path on;
            dav_access user:rw group:r;
        }
    }
}
CONF
chown -R "$OWNER" "$N"
"${RUN_AS[@]}" /usr/sbin/nginx -e "$N/error.log" -c "$N/nginx.conf" -p "$N/" </dev/null \
    >"$N/stdout.log" 2>&1 &
pids+=($!)
N_PID=$!

wait_http apache2 "$A_PID" "$work/apache/error.log" "http://127.0.0.1:$A_PORT/"
wait_http nginx "$N_PID" "$N/error.log" "http://127.0.0.1:$N_PORT/"

# --- the workload ---------------------------------------------------------------------------
results=$work/results.txt
printf 'info size %s\ninfo files %s\n' "$LABEL" "$FILES" >"$results"
mbps() { "$PY" -c 'import sys; print(f"{int(sys.argv[1]) / float(sys.argv[2]) / 1e6:.1f}")' "$1" "$2"; }

run_workload() {   # NAME BASE_URL (ends in /) ROUND
    local name=$1 base=$2 k=$3 out code took got
    sync
    say "$name: PUT $LABEL (round $((k + 1)) of $REPEAT)"
    out=$(curl -sS --max-time "$MAX_TIME" -u "$USER_NAME:$PASSWORD" -H 'Expect:' \
        -H 'Content-Type: application/octet-stream' -T "$work/big.bin" -o /dev/null \
        -w '%{http_code} %{time_total}' "${base}big-$k.bin")
    read -r code took <<<"$out"
    [[ $code = 201 || $code = 204 ]] || { echo "webdav_bench.sh: $name PUT big: HTTP $code" >&2; return 1; }
    echo "$name put_big $(mbps "$SIZE" "$took")" >>"$results"
    sync
    say "$name: GET $LABEL x 3"
    out=$("$PY" "$HERE/webdav_bench.py" get --base "${base}big-$k.bin" --user "$USER_NAME" \
        --password "$PASSWORD")
    read -r code got took <<<"$out"
    [[ $code = 200 && $got = "$SIZE" ]] ||
        { echo "webdav_bench.sh: $name GET big: HTTP $code, $got bytes" >&2; return 1; }
    echo "$name get_big $(mbps "$SIZE" "$took")" >>"$results"
    sync
    say "$name: PUT $FILES x 4 KiB with $CLIENTS clients"
    out=$("$PY" "$HERE/webdav_bench.py" put-many --base "${base}small-$k/" --user "$USER_NAME" \
        --password "$PASSWORD" --files "$FILES" --size 4096 --clients "$CLIENTS")
    echo "$name put_small ${out#files_per_s }" >>"$results"
    sync
    say "$name: PROPFIND Depth 1 x $RUNS"
    out=$("$PY" "$HERE/webdav_bench.py" propfind --base "${base}small-$k/" --user "$USER_NAME" \
        --password "$PASSWORD" --runs "$RUNS" --expect "$FILES")
    echo "$name propfind ${out#median_ms }" >>"$results"
}

local_limit() {
    say "local limit: cat $LABEL > /dev/null"
    local start end
    start=$(date +%s.%N)
    cat "$work/big.bin" >/dev/null
    end=$(date +%s.%N)
    echo "local cat_big $(mbps "$SIZE" "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.6f", e - s }')")" >>"$results"
    say "local write limit: dd $LABEL with fsync"
    sync
    start=$(date +%s.%N)
    dd if="$work/big.bin" of="$work/copy.bin" bs=1M conv=fsync status=none
    end=$(date +%s.%N)
    rm -f "$work/copy.bin"
    echo "local write_big $(mbps "$SIZE" "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.6f", e - s }')")" >>"$results"
}

# loopback_limit - 3 seconds of one TCP stream from iperf3's sendfile sender (-Z) to its
# receiver over 127.0.0.1: what the loopback carries to one client, with no HTTP, no
# file system and no page cache in the way.
loopback_limit() {
    say "loopback: iperf3 -Z, one TCP stream for 3 s"
    local port pid out
    port=$(free_port)
    "${RUN_AS[@]}" iperf3 --server --one-off --bind 127.0.0.1 --port "$port" >"$work/iperf3.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    # (A test connection would be the one-off server's one client: look at the listeners.)
    bench_wait iperf3 "$pid" "$work/iperf3.log" "does not listen on port $port" \
        grep -qi ":$(printf '%04X' "$port") 00000000:0000 0A" /proc/net/tcp
    out=$(timeout 60 "${RUN_AS[@]}" iperf3 --client 127.0.0.1 --port "$port" --time 3 --zerocopy --json)
    wait "$pid" 2>/dev/null || true
    echo "local loopback $("$PY" -c 'import json, sys; print("%.1f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 8e6))' <<<"$out")" >>"$results"
}

for ((k = 0; k < REPEAT; k++)); do
    run_workload polder "http://127.0.0.1:$P_PORT/dav/files/$USER_NAME/" "$k"
    run_workload apache "http://127.0.0.1:$A_PORT/dav/" "$k"
    run_workload nginx "http://127.0.0.1:$N_PORT/dav/" "$k"
    local_limit
    loopback_limit
done

kind=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
grep -q '^POLDER_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null && kind="$kind + sanitizers"
echo
echo "WebDAV benchmark: $(nproc) CPU(s), polder build $BUILD (${kind:-unknown type}), $(/usr/sbin/apache2 -v | sed -n 's/^Server version: //p'), $(/usr/sbin/nginx -v 2>&1 | sed 's/^nginx version: //')"
"$PY" "$HERE/webdav_bench.py" table "$results"

for pid in "$P_PID" "$A_PID" "$N_PID"; do
    kill -0 "$pid" 2>/dev/null || { echo "webdav_bench.sh: a server (PID $pid) died during the run" >&2; exit 1; }
done
