# suite.sh - `scripts/dev test`: build the sanitizer and fuzz trees, start a
# throwaway PostgreSQL, run every test, summarise. Sourced.
#
# Phases, each timed and reported in the summary; a failing phase does not
# hide the others (a broken fuzz build still lets the unit tests run):
#   1. packages            (scripts/packages.txt)
#   2. build/asan          everything, ASan + UBSan
#   3. build/fuzz          the libFuzzer targets (clang)
#   4. tests               ctest in build/asan: unit, protocol, integration
#                          (label "integration"), fuzz corpus replay
#   5. fuzzing             ctest -L fuzz in build/fuzz (POLDER_FUZZ_SECONDS each)
# The exit status is non-zero when any phase failed.
#
# SECURITY: the test cluster uses trust authentication, which is acceptable
# only because it listens on 127.0.0.1, lives in a fresh temporary folder and
# is deleted on exit (trap: also on failure and Ctrl-C). Test processes that
# start services run them as the system user, so the build tree must be
# readable by it (checked before the tests start).
# STANDARDS: none.

declare -a PHASES=()
declare -A PHASE_STATUS=() PHASE_TIME=()

# phase NAME COMMAND... - run one phase and record its outcome.
phase() {
    local name=$1 t0=$SECONDS
    shift
    PHASES+=("$name")
    if "$@"; then
        PHASE_STATUS[$name]=passed
    else
        PHASE_STATUS[$name]=FAILED
    fi
    PHASE_TIME[$name]=$((SECONDS - t0))
    [[ ${PHASE_STATUS[$name]} == passed ]]
}

skip_phase() {
    PHASES+=("$1")
    PHASE_STATUS[$1]="skipped ($2)"
    PHASE_TIME[$1]=0
}

# sanitizer_env - how ASan/UBSan/LSan behave in test processes (and in the
# services those tests start, which inherit it). Callers may override any of
# them by exporting their own value first.
sanitizer_env() {
    # LeakSanitizer on: leaks in our code fail the test. Leaks inside
    # third-party libraries we cannot fix go to tests/harness/lsan.supp,
    # one entry each with its reason.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:check_initialization_order=1:strict_init_order=1:abort_on_error=0}
    export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$POLDER_ROOT/tests/harness/lsan.supp:print_suppressions=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
}

run_asan_tests() {
    # Unit tests in parallel; integration areas carry RUN_SERIAL.
    ctest --test-dir "$BUILD_ASAN" -j "$POLDER_JOBS" --output-on-failure --no-tests=error --timeout 1800
}

run_fuzzers() {
    # One core per fuzzer; they are independent.
    ctest --test-dir "$BUILD_FUZZ" -L '^fuzz$' -j "$POLDER_JOBS" --output-on-failure --timeout 1800
}

suite_on_exit() {
    local rc=$1
    trap '' INT TERM
    if [[ -n ${PG_THROWAWAY_DIR:-} ]]; then
        step "Stopping and deleting the test PostgreSQL"
        pg_throwaway_stop || true
    fi
    return "$rc"
}

print_summary() {
    local total=$1 name failed_tests
    echo
    echo "Summary of scripts/dev test"
    for name in "${PHASES[@]}"; do
        printf '  %-26s %-22s %4ss\n' "$name" "${PHASE_STATUS[$name]}" "${PHASE_TIME[$name]}"
    done
    for name in "$BUILD_ASAN" "$BUILD_FUZZ"; do
        failed_tests=$name/Testing/Temporary/LastTestsFailed.log
        if [[ -s $failed_tests && $failed_tests -nt $SUITE_STARTED_MARK ]]; then
            echo "  failed tests in $(rel "$name"):"
            sed 's/^[0-9]*:/    /' "$failed_tests"
        fi
    done
    printf '  %-26s %s\n' "total time" "$((total / 60))m $((total % 60))s"
}

cmd_test() {
    local t0=$SECONDS
    SUITE_STARTED_MARK=$(mktemp)
    install_packages
    local asan_built=0 fuzz_built=0
    if [[ $SKIP_BUILD == 1 ]]; then
        step "Skipping the builds (--no-build): using $(rel "$BUILD_ASAN") and $(rel "$BUILD_FUZZ")"
        [[ -f $BUILD_ASAN/CTestTestfile.cmake ]] && asan_built=1
        [[ -f $BUILD_FUZZ/CTestTestfile.cmake ]] && fuzz_built=1
    else
        phase "build asan" build_asan && asan_built=1
        phase "build fuzz" build_fuzz && fuzz_built=1
    fi

    polder_user_ensure
    if ((asan_built)); then
        check_polder_can_run "$BUILD_ASAN"
    fi

    on_exit suite_on_exit
    step "Starting a throwaway PostgreSQL (trust auth, 127.0.0.1, temporary folder)"
    pg_throwaway_start || die "could not start the test PostgreSQL"
    ok "127.0.0.1:$POLDER_TEST_PGPORT, superuser $POLDER_TEST_PGUSER, in $PG_THROWAWAY_DIR"

    export POLDER_BUILD_DIR=$BUILD_ASAN
    export POLDER_SOURCE_DIR=$POLDER_ROOT
    export PYTHONDONTWRITEBYTECODE=1
    sanitizer_env

    if ((asan_built)); then
        step "Running the test suite in $(rel "$BUILD_ASAN") (unit, protocol, integration, corpus replay)"
        phase "tests (asan)" run_asan_tests || true
    else
        skip_phase "tests (asan)" "build failed"
    fi
    if ((fuzz_built)); then
        local -a targets
        mapfile -t targets < <(fuzz_targets "$BUILD_FUZZ")
        if [[ ${#targets[@]} -gt 0 ]]; then
            step "Fuzzing in $(rel "$BUILD_FUZZ"): ${#targets[@]} targets"
            phase "fuzzing" run_fuzzers || true
        else
            skip_phase "fuzzing" "no fuzz targets"
        fi
    else
        skip_phase "fuzzing" "build failed"
    fi

    print_summary $((SECONDS - t0))
    rm -f "$SUITE_STARTED_MARK"
    local name
    for name in "${PHASES[@]}"; do
        [[ ${PHASE_STATUS[$name]} == FAILED || ${PHASE_STATUS[$name]} == "skipped (build failed)" ]] && {
            printf '\n%sFAILED%s\n' "$C_ERR" "$C_OFF"
            exit 1
        }
    done
    printf '\n%sALL PASSED%s\n' "$C_OK" "$C_OFF"
}

cmd_build() {
    local target=$1
    install_packages
    case $target in
        release) build_release ;;
        asan) build_asan ;;
        fuzz) build_fuzz ;;
        all) build_release && build_asan && build_fuzz ;;
    esac || die "the build failed (see above)"
    ok "build finished"
}
