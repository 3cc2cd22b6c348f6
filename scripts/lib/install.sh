# install.sh - install the Debian packages listed in scripts/packages.txt that
# are missing. Sourced by scripts/dev.
#
# A line of packages.txt that starts with '?' names an optional package: one that
# tests use but that must not replace anything on the machine (postfix, for its
# smtp-source load generator, conflicts with every other MTA). Optional packages are
# installed afterwards, with apt-get's --no-remove, their debconf questions answered
# first and their services kept from starting (a temporary policy-rc.d); when that
# fails, a warning says so and the tests that need them are skipped with that reason.
#
# SECURITY: packages come only from the machine's configured APT sources;
# apt-get update runs only when something must be installed, and nothing is
# installed when everything is present (so the step is a quick no-op).
# STANDARDS: Debian policy tools (dpkg-query, apt-get).

# package_list - the package names of scripts/packages.txt, comments stripped.
package_list() {
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "$POLDER_ROOT/scripts/packages.txt" | grep -v -e '^$' -e '^?' || true
}

# optional_package_list - the names of the '?' lines.
optional_package_list() {
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "$POLDER_ROOT/scripts/packages.txt" | sed -n 's/^?//p'
}

# preseed_debconf - answers for the optional packages' install-time questions.
# postfix: "No configuration" writes no main.cf and starts nothing; the tests and the
# benchmark run private instances with their own configuration folders.
preseed_debconf() {
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
}

# install_optional NAME... - install without removing anything; warn on failure.
install_optional() {
    local policy_added=
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        # invoke-rc.d asks this script; 101 = "action forbidden": no service starts.
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        policy_added=1
    fi
    preseed_debconf
    local rc=0
    apt-get install -y -q --no-install-recommends --no-remove "$@" || rc=$?
    [[ -z $policy_added ]] || rm -f /usr/sbin/policy-rc.d
    if ((rc != 0)); then
        warn "could not install the optional packages $* without removing others (another MTA?); the tests that need them will be skipped"
    fi
}

# missing_packages NAME... - those not fully installed ("ii" in dpkg's status).
missing_packages() {
    local installed
    installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "$@" 2>/dev/null |
        awk '$2 == "ii" { print $1 }' || true)
    local p
    for p in "$@"; do
        grep -qxF -- "$p" <<<"$installed" || printf '%s\n' "$p"
    done
}

install_packages() {
    if [[ $SKIP_INSTALL == 1 ]]; then
        step "Skipping the package check (--no-install)"
        return 0
    fi
    step "Checking Debian packages ($(rel "$POLDER_ROOT/scripts/packages.txt"))"
    command -v dpkg-query >/dev/null || die "dpkg-query not found: scripts/dev supports Debian 12 only"
    local -a wanted missing
    local -a optional optional_missing
    mapfile -t wanted < <(package_list)
    mapfile -t optional < <(optional_package_list)
    mapfile -t missing < <(missing_packages "${wanted[@]}")
    optional_missing=()
    ((${#optional[@]} == 0)) || mapfile -t optional_missing < <(missing_packages "${optional[@]}")
    if [[ ${#missing[@]} -eq 0 && ${#optional_missing[@]} -eq 0 ]]; then
        ok "all ${#wanted[@]} packages (and ${#optional[@]} optional) are installed"
        return 0
    fi
    if [[ ${#missing[@]} -eq 0 ]]; then
        # Only optional ones are missing: try them once per run, never fail on them.
        if ! is_root; then
            warn "optional packages missing: ${optional_missing[*]} - run scripts/dev as root to install them"
            return 0
        fi
        step "Installing optional packages: ${optional_missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        install_optional "${optional_missing[@]}"
        return 0
    fi
    is_root || die "missing packages: ${missing[*]} - run scripts/dev as root to install them, or install them yourself"
    step "Installing ${#missing[@]} missing packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
    mapfile -t missing < <(missing_packages "${wanted[@]}")
    [[ ${#missing[@]} -eq 0 ]] || die "still missing after apt-get install: ${missing[*]}"
    ((${#optional_missing[@]} == 0)) || install_optional "${optional_missing[@]}"
    ok "installed"
}
