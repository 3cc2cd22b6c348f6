# build.sh - the three CMake + Ninja build trees of scripts/dev. Sourced.
#
#   build/release  RelWithDebInfo, no tests: what `scripts/dev up` runs
#   build/asan     AddressSanitizer + UndefinedBehaviorSanitizer, all tests:
#                  what `scripts/dev test` runs (unit, protocol, integration,
#                  fuzz corpus replay)
#   build/fuzz     clang, -fsanitize=fuzzer + ASan/UBSan: only the libFuzzer
#                  targets, each fuzzed for POLDER_FUZZ_SECONDS by ctest -L fuzz
#
# ccache is used for every tree. CCACHE_BASEDIR makes cached objects reusable
# across the trees and across checkouts (paths are hashed relative to it).
#
# SECURITY: builds run as the invoking user; the outputs must be readable by
# the system user the services run as (checked by the callers).
# STANDARDS: none.

BUILD_RELEASE=$POLDER_ROOT/build/release
BUILD_ASAN=$POLDER_ROOT/build/asan
BUILD_FUZZ=$POLDER_ROOT/build/fuzz

ccache_setup() {
    export CCACHE_BASEDIR=$POLDER_ROOT
    export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
    # Precompiled headers are only cacheable with these relaxations (ccache manual, "Precompiled headers").
    export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}
    mkdir -p "$CCACHE_DIR"
}

# cmake_configure DIR ARGS... - (re)configure a tree; cheap when nothing changed.
cmake_configure() {
    local dir=$1
    shift
    cmake -S "$POLDER_ROOT" -B "$dir" -G Ninja -Wno-dev "$@" >"$dir/configure.log" 2>&1 || {
        printf 'cmake configure of %s failed:\n' "$(rel "$dir")" >&2
        tail -n 40 "$dir/configure.log" >&2
        return 1
    }
}

# ninja_build DIR [TARGETS...] - build, showing ninja's progress and errors.
ninja_build() {
    local dir=$1
    shift
    ninja -C "$dir" -j "$POLDER_JOBS" "$@"
}

build_release() {
    step "Building $(rel "$BUILD_RELEASE") (RelWithDebInfo, -j$POLDER_JOBS)"
    ccache_setup
    mkdir -p "$BUILD_RELEASE"
    cmake_configure "$BUILD_RELEASE" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DPOLDER_SANITIZE=OFF -DPOLDER_FUZZ=OFF -DPOLDER_TESTS=OFF &&
    ninja_build "$BUILD_RELEASE"
}

build_asan() {
    step "Building $(rel "$BUILD_ASAN") (ASan + UBSan, with tests, -j$POLDER_JOBS)"
    ccache_setup
    mkdir -p "$BUILD_ASAN"
    cmake_configure "$BUILD_ASAN" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DPOLDER_SANITIZE=ON -DPOLDER_FUZZ=OFF -DPOLDER_TESTS=ON &&
    ninja_build "$BUILD_ASAN"
}

# fuzz_targets DIR - names of the tests labelled "fuzz" in a configured tree;
# polder_fuzz_target() gives each test the name of its executable target.
fuzz_targets() {
    ctest --test-dir "$1" -N -L '^fuzz$' --show-only=json-v1 2>/dev/null |
        /usr/bin/python3 -c 'import json, sys; [print(t["name"]) for t in json.load(sys.stdin).get("tests", [])]'
}

build_fuzz() {
    step "Building $(rel "$BUILD_FUZZ") (clang libFuzzer targets, ASan + UBSan, -j$POLDER_JOBS)"
    ccache_setup
    mkdir -p "$BUILD_FUZZ"
    local -a seconds=()
    [[ -n ${POLDER_FUZZ_SECONDS:-} ]] && seconds=(-DPOLDER_FUZZ_SECONDS="$POLDER_FUZZ_SECONDS")
    CC=clang CXX=clang++ cmake_configure "$BUILD_FUZZ" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
        -DPOLDER_SANITIZE=ON -DPOLDER_FUZZ=ON -DPOLDER_TESTS=ON "${seconds[@]}" || return 1
    local -a targets
    mapfile -t targets < <(fuzz_targets "$BUILD_FUZZ")
    if [[ ${#targets[@]} -eq 0 ]]; then
        info "no fuzz targets declared yet"
        return 0
    fi
    info "fuzz targets: ${targets[*]}"
    ninja_build "$BUILD_FUZZ" "${targets[@]}"
}

# check_polder_can_run FILE - the services' user must reach build outputs; a
# checkout under /root (mode 0700) is the usual reason it cannot.
check_polder_can_run() {
    local file=$1
    is_root || return 0
    polder_can_reach "$file" x && return 0
    die "user $POLDER_SYSTEM_USER cannot execute $file: every parent folder must be traversable (e.g. chmod o+x on them), or move the checkout out of /root"
}
