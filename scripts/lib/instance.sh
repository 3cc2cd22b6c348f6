# instance.sh - the local development instance of scripts/dev: up, down,
# status. Sourced.
#
# Everything lives under $POLDER_VAR (default var/ in the checkout):
#   polder.toml     configuration (rewritten on every up; system user, 0600)
#   dev.env         KEY='value' lines for tools and tests (0600)
#   pg/             PostgreSQL 15 cluster (data/, run/ = Unix socket)
#   pg-password     password of the PostgreSQL role polder (0600)
#   pgpass          libpq password file for psql (0600)
#   demo-password   password of demo@example.test (0600)
#   blobs/          the blob store
#   tls/            development CA (ca.crt, ca.key) and server certificate
#   log/            postgresql.log and one log per service
#   run/            pid files of the services
# First up: initdb, database, certificates, schema, demo organisation. Later
# ups reuse all of it (no re-init, no data loss); `polderctl migrate` runs each
# time and applies only what is new.
#
# SECURITY: PostgreSQL listens on 127.0.0.1 only with scram-sha-256 and a
# generated password; services run as the unprivileged system user; the
# secret files are readable by their owner only; the CA key stays root's.
# Plain-text logins are allowed on loopback (auth.allow_plaintext_on_loopback)
# because this is a development instance; never copy that to production.
# STANDARDS: X.509 (RFC 5280) certificates via openssl; libpq password file.

SERVICE_NAMES=(smtp imap caldav webdav)
declare -A SVC_BINARY=([smtp]=polder-smtpd [imap]=polder-imapd [caldav]=polder-caldavd [webdav]=polder-webdavd)
# Listeners per service as config-key:default-port; admin_port is /healthz + /metrics.
declare -A SVC_PORTS=(
    [smtp]="admin_port:9025 mx:2525 submission:2587 submissions:2465"
    [imap]="admin_port:9143 imap:1143 imaps:1993"
    [caldav]="admin_port:9443 https:8443 http:8008"
    [webdav]="admin_port:9444 https:8444 http:8080"
)
declare -A PORT=()          # "smtp.mx" -> the port chosen for this run
PRESENT=()                  # services whose binary exists in the build
DEMO_ORG=Example
DEMO_DOMAIN=example.test
DEMO_USER=demo@example.test
PG_DEFAULT_PORT=55432

instance_paths() {
    VAR=$POLDER_VAR
    PGDIR=$VAR/pg
    RUNDIR=$VAR/run
    LOGDIR=$VAR/log
    TLSDIR=$VAR/tls
    BLOBDIR=$VAR/blobs
    CONFIG=$VAR/polder.toml
    ENVFILE=$VAR/dev.env
    PG_PASSWORD_FILE=$VAR/pg-password
    PGPASS_FILE=$VAR/pgpass
    DEMO_PASSWORD_FILE=$VAR/demo-password
    PROVISIONED_MARK=$VAR/.provisioned
    STOPPING_MARK=$VAR/run/stopping
}

pid_file() { printf '%s/%s.pid\n' "$RUNDIR" "${SVC_BINARY[$1]}"; }
log_file() { printf '%s/%s.log\n' "$LOGDIR" "${SVC_BINARY[$1]}"; }
read_pid() { [[ -f $1 ]] && tr -dc '0-9' <"$1"; }

# is_our_service PID - the process was started by scripts/dev for this var/
# (guards against a pid reused by an unrelated process).
is_our_service() {
    pid_alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "--config $CONFIG"
}

# locate_binaries - polderctl (required) and the services built so far.
locate_binaries() {
    if [[ $SKIP_BUILD == 1 ]]; then
        BIN_DIR=$(realpath -m "${POLDER_BUILD_DIR:-$BUILD_RELEASE}")
    else
        BIN_DIR=$BUILD_RELEASE
    fi
    POLDERCTL=$BIN_DIR/services/admin/polderctl
    [[ -x $POLDERCTL ]] || die "$(rel "$POLDERCTL") not found: polderctl is needed to set up the database (build it: scripts/dev build)"
    check_polder_can_run "$POLDERCTL"
    PRESENT=()
    local svc
    for svc in "${SERVICE_NAMES[@]}"; do
        if [[ -x $BIN_DIR/services/$svc/${SVC_BINARY[$svc]} ]]; then
            PRESENT+=("$svc")
        fi
    done
}

pctl() { "$POLDERCTL" --config "$CONFIG" "$@"; }

prepare_var() {
    step "Preparing $VAR"
    mkdir -p "$VAR" "$RUNDIR" "$LOGDIR" "$TLSDIR" "$BLOBDIR"
    chmod 0755 "$VAR" "$RUNDIR" "$TLSDIR"
    chmod 0750 "$LOGDIR" "$BLOBDIR"
    # The services (system user) write logs and blobs; root keeps run/ and tls/.
    polder_own "$LOGDIR" "$BLOBDIR"
    if is_root && ! polder_can_reach "$LOGDIR" w; then
        die "user $POLDER_SYSTEM_USER cannot write $LOGDIR: make every parent folder of $VAR traversable (chmod o+x)"
    fi
    rm -f "$STOPPING_MARK"
}

refuse_if_running() {
    local svc pid
    for svc in "${SERVICE_NAMES[@]}"; do
        pid=$(read_pid "$(pid_file "$svc")") || continue
        if [[ -n $pid ]] && is_our_service "$pid"; then
            die "Polder is already running from $VAR (${SVC_BINARY[$svc]}, pid $pid): see scripts/dev status, stop it with scripts/dev down"
        fi
    done
    if [[ -f $PGDIR/data/PG_VERSION ]] && pg_running "$PGDIR"; then
        die "Polder's PostgreSQL is already running from $PGDIR: see scripts/dev status, stop it with scripts/dev down"
    fi
}

# setup_postgres - first run: initdb with a generated password; every run:
# a free port, start, the polder database.
setup_postgres() {
    if [[ ! -f $PGDIR/data/PG_VERSION ]]; then
        step "Creating the PostgreSQL cluster in $PGDIR (first run)"
        [[ -f $PG_PASSWORD_FILE ]] || write_secret "$PG_PASSWORD_FILE" "$(random_secret 24)"
        rm -rf "$PGDIR"
        PG_PORT=$(pg__free_port "$PG_DEFAULT_PORT")
        [[ $PG_PORT == "$PG_DEFAULT_PORT" ]] || info "port $PG_DEFAULT_PORT is busy; using $PG_PORT"
        # Through a pipe: initdb runs as the system user and could not open the
        # root-only password file, but it can read a pipe it inherits.
        cat "$PG_PASSWORD_FILE" | pg_init "$PGDIR" "$PG_PORT" scram-sha-256 || die "initdb failed (see above)"
        ok "cluster created (role polder, scram-sha-256, 127.0.0.1:$PG_PORT)"
    else
        [[ -f $PG_PASSWORD_FILE ]] || die "$PG_PASSWORD_FILE is missing but the cluster exists; restore it or remove $PGDIR"
        PG_PORT=$(pg_port "$PGDIR")
        [[ -n $PG_PORT ]] || die "no port in $PGDIR/data/polder.conf"
        if ! pg_running "$PGDIR"; then
            local port
            port=$(pg__free_port "$PG_PORT")
            if [[ $port != "$PG_PORT" ]]; then
                info "port $PG_PORT is busy now; moving PostgreSQL to $port"
                pg_write_settings "$PGDIR" "$port"
                PG_PORT=$port
            fi
        fi
    fi
    (umask 077 && printf '127.0.0.1:%s:*:polder:%s\n' "$PG_PORT" "$(cat "$PG_PASSWORD_FILE")" >"$PGPASS_FILE")

    step "Starting PostgreSQL on 127.0.0.1:$PG_PORT"
    pg_start "$PGDIR" "$LOGDIR/postgresql.log" || die "PostgreSQL did not start"
    local exists
    exists=$(PGPASSFILE=$PGPASS_FILE "$PG_BIN/psql" -X -h 127.0.0.1 -p "$PG_PORT" -U polder -d postgres -Atq \
        -c "SELECT 1 FROM pg_database WHERE datname = 'polder'") || die "cannot connect to PostgreSQL on 127.0.0.1:$PG_PORT"
    if [[ $exists != 1 ]]; then
        PGPASSFILE=$PGPASS_FILE "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U polder -E UTF8 polder
        ok "database polder created"
    fi
    ok "PostgreSQL is ready"
}

# openssl_cnf FILE CN EXTENSIONS... - a minimal OpenSSL request config, so
# the extensions are exactly these (no defaults from /etc/ssl/openssl.cnf).
openssl_cnf() {
    local file=$1 cn=$2
    shift 2
    {
        printf '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nO = Polder development\nCN = %s\n[ext]\n' "$cn"
        printf '%s\n' "$@"
    } >"$file"
}

# setup_tls - a development CA (10 years) and a localhost server certificate
# signed by it (825 days, renewed when it expires within a week).
setup_tls() {
    local work
    if [[ ! -f $TLSDIR/ca.crt || ! -f $TLSDIR/ca.key ]]; then
        step "Creating the development CA ($TLSDIR/ca.crt)"
        work=$(mktemp -d)
        openssl_cnf "$work/ca.cnf" "Polder development CA" \
            "basicConstraints = critical, CA:TRUE, pathlen:0" \
            "keyUsage = critical, keyCertSign, cRLSign" \
            "subjectKeyIdentifier = hash"
        (umask 077 && openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc \
            -config "$work/ca.cnf" -extensions ext -days 3650 -sha256 \
            -keyout "$TLSDIR/ca.key" -out "$TLSDIR/ca.crt" 2>"$work/err") || { cat "$work/err" >&2; die "openssl failed"; }
        chmod 0644 "$TLSDIR/ca.crt"
        rm -f "$TLSDIR/server.crt"
        rm -rf "$work"
    fi
    if [[ -f $TLSDIR/server.crt && -f $TLSDIR/server.key ]] &&
        openssl x509 -checkend 604800 -noout -in "$TLSDIR/server.crt" >/dev/null 2>&1; then
        return 0
    fi
    step "Creating the server certificate for localhost, 127.0.0.1, ::1 ($TLSDIR/server.crt)"
    work=$(mktemp -d)
    openssl_cnf "$work/server.cnf" "localhost" \
        "basicConstraints = critical, CA:FALSE" \
        "keyUsage = critical, digitalSignature" \
        "extendedKeyUsage = serverAuth" \
        "subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1" \
        "subjectKeyIdentifier = hash" \
        "authorityKeyIdentifier = keyid"
    (umask 077 && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc \
        -config "$work/server.cnf" -keyout "$work/server.key" -out "$work/server.csr" 2>"$work/err" &&
        openssl x509 -req -in "$work/server.csr" -CA "$TLSDIR/ca.crt" -CAkey "$TLSDIR/ca.key" \
            -set_serial "0x$(openssl rand -hex 16)" -days 825 -sha256 \
            -extfile "$work/server.cnf" -extensions ext -out "$work/server.crt" 2>>"$work/err") ||
        { cat "$work/err" >&2; rm -rf "$work"; die "openssl failed"; }
    chmod 0644 "$work/server.crt"
    polder_own "$work/server.key"
    mv -f "$work/server.key" "$TLSDIR/server.key"
    mv -f "$work/server.crt" "$TLSDIR/server.crt"
    rm -rf "$work"
    ok "certificate valid for 825 days; clients trust it with POLDER_CA_CERT=$TLSDIR/ca.crt"
}

# choose_ports - each listener of each built service gets its default port
# unless that is busy (then a free one: printed, and in dev.env).
choose_ports() {
    PORT=()
    [[ ${#PRESENT[@]} -gt 0 ]] || return 0
    local -a keys=() defaults=() chosen=()
    local svc pair i
    for svc in "${PRESENT[@]}"; do
        for pair in ${SVC_PORTS[$svc]}; do
            keys+=("$svc.${pair%%:*}")
            defaults+=("${pair##*:}")
        done
    done
    read -r -a chosen < <(pg__free_port "${defaults[@]}")
    [[ ${#chosen[@]} -eq ${#keys[@]} ]] || die "could not choose ports"
    for i in "${!keys[@]}"; do
        PORT[${keys[$i]}]=${chosen[$i]}
        if [[ ${chosen[$i]} != "${defaults[$i]}" ]]; then
            info "port ${defaults[$i]} (${keys[$i]}) is busy; using ${chosen[$i]}"
        fi
    done
}

write_config() {
    step "Writing $CONFIG"
    local pgpw tmp=$CONFIG.tmp
    pgpw=$(cat "$PG_PASSWORD_FILE")
    (
        umask 077
        {
            cat <<EOF
# polder.toml - the development configuration. Written by scripts/dev up on
# every start (ports move when the defaults are busy), so do not edit it:
# override single keys with POLDER_<SECTION>_<KEY> environment variables.
# Every key is documented in config/polder.example.toml.

[database]
host = "127.0.0.1"
port = $PG_PORT
name = "polder"
user = "polder"
password = "$pgpw"

[tls]
cert_file = "tls/server.crt"
key_file = "tls/server.key"

[log]
level = "info"
format = "text"

[blob]
path = "blobs"

[auth]
# Development only: logins over plain connections from 127.0.0.1, so curl,
# swaks and test clients can use the plain loopback ports.
allow_plaintext_on_loopback = true
EOF
            local svc pair key
            for svc in "${PRESENT[@]}"; do
                printf '\n[%s]\nadmin_port = %s\n' "$svc" "${PORT[$svc.admin_port]}"
                for pair in ${SVC_PORTS[$svc]}; do
                    key=${pair%%:*}
                    [[ $key == admin_port ]] && continue
                    printf '\n[%s.%s]\naddress = "127.0.0.1"\nport = %s\n' "$svc" "$key" "${PORT[$svc.$key]}"
                done
            done
            # Client autoconfiguration (docs/operations.md) names this instance's own
            # TLS ports, so Thunderbird, Outlook or an Apple profile can be tried here:
            # https://localhost:<caldav https>/mail/config-v1.1.xml?emailaddress=...
            if [[ -n ${PORT[imap.imaps]:-} && -n ${PORT[smtp.submissions]:-} && -n ${PORT[caldav.https]:-} ]]; then
                printf '\n[clients]\nprovider_name = "Polder (development)"\nimap_host = "localhost"\n'
                printf 'imap_port = %s\nsubmission_port = %s\ndav_port = %s\n' \
                    "${PORT[imap.imaps]}" "${PORT[smtp.submissions]}" "${PORT[caldav.https]}"
            fi
        } >"$tmp"
    )
    polder_own "$tmp"
    mv -f "$tmp" "$CONFIG"
}

migrate_schema() {
    step "Applying the database schema (polderctl migrate)"
    pctl migrate | sed 's/^/    /' || die "polderctl migrate failed (see above)"
}

# provision_demo - once: organisation Example, domain example.test, user
# demo@example.test with a generated password. Each part is checked first, so
# a run interrupted half-way completes on the next up.
provision_demo() {
    if [[ -f $PROVISIONED_MARK ]]; then
        info "demo organisation already provisioned"
        return 0
    fi
    step "Provisioning organisation $DEMO_ORG, domain $DEMO_DOMAIN, user $DEMO_USER"
    local rc=0
    pctl org list --org "$DEMO_ORG" >/dev/null 2>&1 || rc=$?
    case $rc in
        0) info "organisation $DEMO_ORG exists" ;;
        1) pctl org add "$DEMO_ORG" | sed 's/^/    /' ;;
        *) pctl org list --org "$DEMO_ORG" >/dev/null; die "polderctl failed (exit $rc)" ;;
    esac
    local domains
    domains=$(pctl domain list --org "$DEMO_ORG" --json) || die "polderctl domain list failed"
    if grep -q "\"$DEMO_DOMAIN\"" <<<"$domains"; then
        info "domain $DEMO_DOMAIN exists"
    else
        pctl domain add "$DEMO_DOMAIN" --org "$DEMO_ORG" | sed 's/^/    /'
    fi
    rc=0
    pctl user show "$DEMO_USER" >/dev/null 2>&1 || rc=$?
    case $rc in
        0) info "user $DEMO_USER exists" ;;
        1)
            [[ -f $DEMO_PASSWORD_FILE ]] || write_secret "$DEMO_PASSWORD_FILE" "$(random_secret 18)"
            pctl user add "$DEMO_USER" --password-stdin --name "Demo User" <"$DEMO_PASSWORD_FILE" | sed 's/^/    /'
            ;;
        *) pctl user show "$DEMO_USER" >/dev/null; die "polderctl failed (exit $rc)" ;;
    esac
    touch "$PROVISIONED_MARK"
    ok "demo login: $DEMO_USER (password in $DEMO_PASSWORD_FILE)"
}

# start_service SVC - run the service as the system user in its own session
# (Ctrl-C reaches scripts/dev, which stops everything in order), output to
# its log. The pid file is written by the shell that then execs the service.
start_service() {
    local svc=$1 bin=$BIN_DIR/services/$1/${SVC_BINARY[$1]}
    local log pidfile
    log=$(log_file "$svc")
    pidfile=$(pid_file "$svc")
    check_polder_can_run "$bin"
    touch "$log"
    polder_own "$log"
    rm -f "$pidfile"
    local -a as_user=()
    if is_root; then
        as_user=(env "HOME=$(polder_user_home)" setpriv --reuid="$POLDER_SYSTEM_USER"
                 --regid="$POLDER_SYSTEM_USER" --init-groups --)
    fi
    printf '%s starting %s\n' "$(date -Is)" "$bin" >>"$log"
    (cd / && exec setsid sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$pidfile" \
        "${as_user[@]}" "$bin" --config "$CONFIG" </dev/null >>"$log" 2>&1 8>&- 9>&-) &
    local i
    for i in $(seq 50); do
        [[ -s $pidfile ]] && break
        sleep 0.1
    done
    [[ -s $pidfile ]] || die "${SVC_BINARY[$svc]} did not start (no pid file)"
    info "${SVC_BINARY[$svc]} started (pid $(read_pid "$pidfile"), log $(rel "$log"))"
}

healthz_url() { printf 'http://127.0.0.1:%s/healthz\n' "$1"; }

# wait_healthy - every started service answers /healthz with 200 within
# POLDER_DEV_TIMEOUT seconds; otherwise say which one and show its log.
wait_healthy() {
    [[ ${#PRESENT[@]} -gt 0 ]] || return 0
    step "Waiting for the health checks (up to ${POLDER_DEV_TIMEOUT}s)"
    local deadline=$((SECONDS + POLDER_DEV_TIMEOUT))
    local -a pending=("${PRESENT[@]}") next
    local svc url
    while [[ ${#pending[@]} -gt 0 ]]; do
        next=()
        for svc in "${pending[@]}"; do
            url=$(healthz_url "${PORT[$svc.admin_port]}")
            if curl -fsS -m 2 -o /dev/null "$url" 2>/dev/null; then
                ok "${SVC_BINARY[$svc]} is healthy ($url)"
            elif ! pid_alive "$(read_pid "$(pid_file "$svc")")"; then
                printf 'error: %s exited during start-up\n' "${SVC_BINARY[$svc]}" >&2
                log_tail "$(log_file "$svc")"
                return 1
            else
                next+=("$svc")
            fi
        done
        pending=("${next[@]}")
        [[ ${#pending[@]} -eq 0 ]] && break
        if ((SECONDS >= deadline)); then
            for svc in "${pending[@]}"; do
                printf 'error: %s did not answer %s within %ss\n' "${SVC_BINARY[$svc]}" \
                    "$(healthz_url "${PORT[$svc.admin_port]}")" "$POLDER_DEV_TIMEOUT" >&2
                log_tail "$(log_file "$svc")"
            done
            return 1
        fi
        sleep 0.5
    done
}

write_env() {
    local tmp=$ENVFILE.tmp demo_pass=""
    [[ -f $DEMO_PASSWORD_FILE ]] && demo_pass=$(cat "$DEMO_PASSWORD_FILE")
    kv() { printf '%s=%s\n' "$1" "$(shell_quote "$2")"; }
    (
        umask 077
        {
            echo "# dev.env - the running development instance, written by scripts/dev up."
            echo "# Use: set -a; . $(shell_quote "$ENVFILE"); set +a"
            kv POLDER_VAR "$VAR"
            kv POLDER_CONFIG "$CONFIG"
            kv POLDERCTL "$POLDERCTL"
            kv POLDER_PGHOST 127.0.0.1
            kv POLDER_PGPORT "$PG_PORT"
            kv POLDER_PGUSER polder
            kv POLDER_PGDATABASE polder
            kv POLDER_PGPASSFILE "$PGPASS_FILE"
            kv POLDER_DEMO_USER "$DEMO_USER"
            kv POLDER_DEMO_PASS "$demo_pass"
            kv POLDER_CA_CERT "$TLSDIR/ca.crt"
            local svc
            for svc in "${PRESENT[@]}"; do
                case $svc in
                    smtp)
                        kv POLDER_SMTP_PORT "${PORT[smtp.mx]}"
                        kv POLDER_SUBMISSION_PORT "${PORT[smtp.submission]}"
                        kv POLDER_SUBMISSIONS_PORT "${PORT[smtp.submissions]}"
                        ;;
                    imap)
                        kv POLDER_IMAP_PORT "${PORT[imap.imap]}"
                        kv POLDER_IMAPS_PORT "${PORT[imap.imaps]}"
                        ;;
                    caldav)
                        kv POLDER_CALDAV_URL "http://127.0.0.1:${PORT[caldav.http]}/"
                        kv POLDER_CALDAVS_URL "https://localhost:${PORT[caldav.https]}/"
                        ;;
                    webdav)
                        kv POLDER_WEBDAV_URL "http://127.0.0.1:${PORT[webdav.http]}/"
                        kv POLDER_WEBDAVS_URL "https://localhost:${PORT[webdav.https]}/"
                        ;;
                esac
                kv "POLDER_${svc^^}_ADMIN_URL" "http://127.0.0.1:${PORT[$svc.admin_port]}/"
            done
        } >"$tmp"
    )
    mv -f "$tmp" "$ENVFILE"
}

print_endpoints() {
    local demo_pass=""
    [[ -f $DEMO_PASSWORD_FILE ]] && demo_pass=$(cat "$DEMO_PASSWORD_FILE")
    echo
    echo "Polder is running from $VAR"
    printf '  %-22s %s\n' "PostgreSQL" "127.0.0.1:$PG_PORT  database polder, role polder (PGPASSFILE=$PGPASS_FILE)"
    local svc
    for svc in "${SERVICE_NAMES[@]}"; do
        if [[ " ${PRESENT[*]} " != *" $svc "* ]]; then
            printf '  %-22s %s\n' "${SVC_BINARY[$svc]}" "not built yet (skipped)"
            continue
        fi
        case $svc in
            smtp)
                printf '  %-22s %s\n' "SMTP (MX)" "127.0.0.1:${PORT[smtp.mx]}" \
                    "Submission" "127.0.0.1:${PORT[smtp.submission]} (STARTTLS)" \
                    "Submissions" "127.0.0.1:${PORT[smtp.submissions]} (implicit TLS)" ;;
            imap)
                printf '  %-22s %s\n' "IMAP" "127.0.0.1:${PORT[imap.imap]} (STARTTLS)" \
                    "IMAPS" "127.0.0.1:${PORT[imap.imaps]} (implicit TLS)" ;;
            caldav)
                printf '  %-22s %s\n' "CalDAV/CardDAV" \
                    "https://localhost:${PORT[caldav.https]}/  http://127.0.0.1:${PORT[caldav.http]}/" ;;
            webdav)
                printf '  %-22s %s\n' "WebDAV" \
                    "https://localhost:${PORT[webdav.https]}/  http://127.0.0.1:${PORT[webdav.http]}/" ;;
        esac
        printf '  %-22s %s\n' "  admin (${svc})" "http://127.0.0.1:${PORT[$svc.admin_port]}/healthz  /metrics"
    done
    printf '  %-22s %s\n' "Demo login" "$DEMO_USER  $demo_pass" \
        "CA certificate" "$TLSDIR/ca.crt" \
        "Environment" "$ENVFILE" \
        "Logs" "$LOGDIR/" \
        "Admin CLI" "$POLDERCTL --config $CONFIG"
    echo
}

# stop_service SVC - SIGTERM (graceful: sessions finish up to the service's
# grace period), SIGKILL after POLDER_DEV_STOP_TIMEOUT seconds.
stop_service() {
    local svc=$1 pidfile pid
    pidfile=$(pid_file "$svc")
    [[ -f $pidfile ]] || return 0
    pid=$(read_pid "$pidfile")
    if [[ -n $pid ]] && is_our_service "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + POLDER_DEV_STOP_TIMEOUT))
        while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
        if pid_alive "$pid"; then
            warn "${SVC_BINARY[$svc]} (pid $pid) did not stop in ${POLDER_DEV_STOP_TIMEOUT}s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            while pid_alive "$pid"; do sleep 0.1; done
        fi
        ok "stopped ${SVC_BINARY[$svc]} (pid $pid)"
        STOPPED_SOMETHING=1
    fi
    rm -f "$pidfile"
}

# stop_instance - services first (they hold database connections), then PostgreSQL.
stop_instance() {
    STOPPED_SOMETHING=0
    local i svc any=0
    for svc in "${SERVICE_NAMES[@]}"; do [[ -f $(pid_file "$svc") ]] && any=1; done
    if ((any)); then
        step "Stopping the services"
        for ((i = ${#SERVICE_NAMES[@]} - 1; i >= 0; i--)); do
            stop_service "${SERVICE_NAMES[$i]}" || true
        done
    fi
    # postmaster.pid rather than pg_running: a Ctrl-C can interrupt the status
    # check itself, and stopping must not depend on that answer.
    if [[ -f $PGDIR/data/PG_VERSION && -f $PGDIR/data/postmaster.pid ]]; then
        step "Stopping PostgreSQL (fast shutdown)"
        pg_stop "$PGDIR" && ok "stopped PostgreSQL" || warn "PostgreSQL did not stop cleanly"
        STOPPED_SOMETHING=1
    fi
}

UP_KEEP_RUNNING=0
up_on_exit() {
    local rc=$1
    [[ $UP_KEEP_RUNNING == 1 ]] && return 0
    trap '' INT TERM
    if ((rc != 0 && rc != 130 && rc != 143)); then
        printf '\nscripts/dev up failed; stopping what it started.\n' >&2
    fi
    stop_instance || true
    return "$rc"
}

# monitor - foreground mode: wait for Ctrl-C (or SIGTERM), or for scripts/dev
# down from another terminal; a service or PostgreSQL dying ends the run.
monitor() {
    echo "Press Ctrl-C to stop everything."
    local svc
    while :; do
        if [[ -f $STOPPING_MARK ]]; then
            echo "Stopped by scripts/dev down."
            exit 0
        fi
        for svc in "${PRESENT[@]}"; do
            if ! pid_alive "$(read_pid "$(pid_file "$svc")")"; then
                [[ -f $STOPPING_MARK ]] && continue 2
                printf 'error: %s exited\n' "${SVC_BINARY[$svc]}" >&2
                log_tail "$(log_file "$svc")"
                exit 1
            fi
        done
        if ! pg_running "$PGDIR"; then
            [[ -f $STOPPING_MARK ]] && continue
            printf 'error: PostgreSQL stopped\n' >&2
            log_tail "$LOGDIR/postgresql.log"
            exit 1
        fi
        sleep 1 &
        wait $! || true
    done
}

cmd_up() {
    local detach=$1
    install_packages
    if [[ $SKIP_BUILD == 1 ]]; then
        step "Skipping the build (--no-build); binaries from $(realpath -m "${POLDER_BUILD_DIR:-$BUILD_RELEASE}")"
    else
        build_release || die "the build failed (see above)"
    fi
    locate_binaries
    instance_paths
    polder_user_ensure
    refuse_if_running
    prepare_var

    on_exit up_on_exit

    setup_postgres
    setup_tls
    [[ ${#PRESENT[@]} -gt 0 ]] && step "Choosing ports for: ${PRESENT[*]}"
    choose_ports
    write_config
    migrate_schema
    provision_demo

    if [[ ${#PRESENT[@]} -gt 0 ]]; then
        step "Starting the services as user $(is_root && echo "$POLDER_SYSTEM_USER" || id -un)"
        local svc
        for svc in "${PRESENT[@]}"; do start_service "$svc"; done
    else
        warn "no service binaries in $BIN_DIR/services/ yet; only PostgreSQL runs"
    fi
    wait_healthy || exit 1
    write_env
    print_endpoints

    if [[ $detach == 1 ]]; then
        UP_KEEP_RUNNING=1
        trap - EXIT INT TERM
        echo "Running in the background; stop it with: scripts/dev down"
        return 0
    fi
    monitor
}

cmd_down() {
    instance_paths
    if [[ ! -d $VAR ]]; then
        info "nothing to stop: $VAR does not exist"
        return 0
    fi
    [[ -d $RUNDIR ]] && touch "$STOPPING_MARK"
    stop_instance
    if [[ $STOPPED_SOMETHING == 0 ]]; then
        info "nothing was running from $VAR"
    fi
}

cmd_status() {
    instance_paths
    if [[ ! -f $ENVFILE ]]; then
        echo "No development instance in $VAR (start one with scripts/dev up)."
        return 3
    fi
    local -A env=()
    local line key value
    while IFS= read -r line; do
        [[ $line =~ ^([A-Z_]+)=(.*)$ ]] || continue
        key=${BASH_REMATCH[1]}
        value=${BASH_REMATCH[2]}
        value=${value#\'}
        value=${value%\'}
        env[$key]=$value
    done <"$ENVFILE"
    local all_up=1
    echo "Instance: $VAR"
    if [[ -f $PGDIR/data/PG_VERSION ]] && pg_running "$PGDIR"; then
        printf '  %-16s running on 127.0.0.1:%s\n' "PostgreSQL" "$(pg_port "$PGDIR")"
    else
        printf '  %-16s stopped\n' "PostgreSQL"
        all_up=0
    fi
    local svc pid url
    for svc in "${SERVICE_NAMES[@]}"; do
        url=${env[POLDER_${svc^^}_ADMIN_URL]:-}
        [[ -n $url ]] || continue
        pid=$(read_pid "$(pid_file "$svc")" || true)
        if [[ -n $pid ]] && is_our_service "$pid"; then
            if curl -fsS -m 2 -o /dev/null "${url}healthz" 2>/dev/null; then
                printf '  %-16s running (pid %s), healthy (%shealthz)\n' "${SVC_BINARY[$svc]}" "$pid" "$url"
            else
                printf '  %-16s running (pid %s), NOT healthy (%shealthz)\n' "${SVC_BINARY[$svc]}" "$pid" "$url"
                all_up=0
            fi
        else
            printf '  %-16s stopped\n' "${SVC_BINARY[$svc]}"
            all_up=0
        fi
    done
    echo "  Environment:     $ENVFILE"
    ((all_up)) && return 0 || return 3
}
