# common.sh - shared helpers of scripts/dev: messages, settings, paths.
# Sourced, never run. Also sources tests/harness/pg.sh (PostgreSQL clusters and
# the unprivileged system user), which scripts/dev and the tests share.
#
# SECURITY: scripts/dev runs as root on a development machine; everything that
# can run unprivileged (PostgreSQL, the services) runs as the system user
# through as_polder/setpriv. Secrets are written with umask 077 and never put
# on command lines (they go through stdin or files).
# STANDARDS: none.

POLDER_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../../tests/harness/pg.sh
source "$POLDER_ROOT/tests/harness/pg.sh"

# Settings: every knob of scripts/dev is an environment variable (or a flag).
POLDER_VAR=$(realpath -m "${POLDER_VAR:-$POLDER_ROOT/var}")
POLDER_JOBS=${POLDER_JOBS:-$(nproc)}
POLDER_DEV_TIMEOUT=${POLDER_DEV_TIMEOUT:-90}        # seconds to wait for health checks
POLDER_DEV_STOP_TIMEOUT=${POLDER_DEV_STOP_TIMEOUT:-30}  # seconds a service gets to stop on SIGTERM
SKIP_INSTALL=${POLDER_DEV_SKIP_INSTALL:-0}
SKIP_BUILD=${POLDER_DEV_SKIP_BUILD:-0}

if [[ -t 1 ]]; then
    C_STEP=$'\e[1;34m' C_OK=$'\e[32m' C_ERR=$'\e[1;31m' C_OFF=$'\e[0m'
else
    C_STEP='' C_OK='' C_ERR='' C_OFF=''
fi

# step TEXT - announce what happens next (every step of scripts/dev says so).
step() { printf '%s==>%s %s\n' "$C_STEP" "$C_OFF" "$*"; }
info() { printf '    %s\n' "$*"; }
ok() { printf '    %s%s%s\n' "$C_OK" "$*" "$C_OFF"; }
warn() { printf '%swarning:%s %s\n' "$C_ERR" "$C_OFF" "$*" >&2; }
die() { printf '%serror:%s %s\n' "$C_ERR" "$C_OFF" "$*" >&2; exit 1; }

is_root() { [[ $(id -u) -eq 0 ]]; }

# on_exit HANDLER - run HANDLER with the exit status when the script ends, also on
# Ctrl-C (status 130) and SIGTERM (143). A signal's trap runs in the middle of what
# the script was doing, inside any function's redirections (`pg_running` sends its
# output to /dev/null), and the exit handler would print into them: "Stopping ..."
# went missing that way. So the script's own stdout and stderr are kept as fds 8
# and 9 and given back to HANDLER. Daemons started afterwards must not inherit them
# (`8>&- 9>&-`): they would hold a caller's pipe open for as long as they run.
on_exit() {
    EXIT_HANDLER=$1
    exec 8>&1 9>&2
    trap on_exit__run EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}
on_exit__run() {
    local rc=$?
    exec 1>&8 2>&9
    "$EXIT_HANDLER" "$rc"
}

# rel PATH - PATH relative to the checkout when it is inside it (shorter messages).
rel() {
    case $1 in
        "$POLDER_ROOT"/*) printf '%s\n' "${1#"$POLDER_ROOT"/}" ;;
        *) printf '%s\n' "$1" ;;
    esac
}

# shell_quote VALUE - VALUE as one single-quoted shell word.
shell_quote() {
    local v=${1//\'/\'\\\'\'}
    printf "'%s'" "$v"
}

# pid_alive PID - a running (not zombie) process.
pid_alive() {
    local pid=$1 state
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/stat ]] || return 1
    state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

# log_tail FILE [LINES] - the end of a log, indented, for error messages.
log_tail() {
    local file=$1 lines=${2:-25}
    if [[ -s $file ]]; then
        printf '    --- last %s lines of %s ---\n' "$lines" "$file" >&2
        tail -n "$lines" "$file" | sed 's/^/    | /' >&2
    else
        printf '    (%s is empty)\n' "$file" >&2
    fi
}

# random_secret BYTES - URL- and shell-safe random text (base64 alphabet, -_).
random_secret() {
    openssl rand -base64 "$1" | tr -d '\n=' | tr '/+' '_-'
}

# write_secret FILE VALUE - create FILE readable by its owner only.
write_secret() {
    local file=$1 value=$2
    (umask 077 && printf '%s\n' "$value" >"$file.tmp" && mv -f "$file.tmp" "$file")
}
