# install.sh - install the Debian packages listed in scripts/packages.txt that
# are missing. Sourced by scripts/dev.
#
# SECURITY: packages come only from the machine's configured APT sources;
# apt-get update runs only when something must be installed, and nothing is
# installed when everything is present (so the step is a quick no-op).
# STANDARDS: Debian policy tools (dpkg-query, apt-get).

# package_list - the package names of scripts/packages.txt, comments stripped.
package_list() {
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "$POLDER_ROOT/scripts/packages.txt" | grep -v '^$'
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
    mapfile -t wanted < <(package_list)
    mapfile -t missing < <(missing_packages "${wanted[@]}")
    if [[ ${#missing[@]} -eq 0 ]]; then
        ok "all ${#wanted[@]} packages are installed"
        return 0
    fi
    is_root || die "missing packages: ${missing[*]} - run scripts/dev as root to install them, or install them yourself"
    step "Installing ${#missing[@]} missing packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
    mapfile -t missing < <(missing_packages "${wanted[@]}")
    [[ ${#missing[@]} -eq 0 ]] || die "still missing after apt-get install: ${missing[*]}"
    ok "installed"
}
