#!/bin/bash
# tests/run.sh - every test of `make test`, after `make asan fuzz` has built
#   build/asan/unit-tests, build/asan/outpost and build/fuzz/fuzz_*.
#
# Three layers, each counted in tests:
#   1. the unit tests (build/asan/unit-tests; its last line is "N passed, N failed");
#   2. each libFuzzer target for FUZZ_SECONDS on a copy of its seed corpus
#      (tests/fuzz/corpus/NAME/, NAME with or without the fuzz_ prefix), so the
#      repository is never written to; a crash, leak or timeout is a failure;
#   3. the interop tests: pytest on tests/interop with /usr/bin/python3.
# The last line is "total: N passed, N failed[, N skipped]"; the exit status is
# non-zero if anything failed.
#
# Environment: FUZZ_SECONDS (default 5), PYTEST_ARGS (extra pytest arguments),
# PYTEST_SECONDS (the interop tests' time limit, default 1200), PYTEST_WORKERS
# (pytest-xdist processes running interop tests side by side, default 4; 0 runs
# them one after another; the tests mostly wait on servers and clients, so more
# workers than cores pay off),
# OUTPOST_SERVER_ASAN_OPTIONS (ASAN_OPTIONS for the server process only).
set -u
cd "$(dirname "$0")/.." || exit 1

# Leak detection stays on everywhere, the server included: it exits through
# its normal path on SIGTERM, so a report there is a real leak.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
FUZZ_SECONDS=${FUZZ_SECONDS:-5}
PYTEST_SECONDS=${PYTEST_SECONDS:-1200}
PYTEST_WORKERS=${PYTEST_WORKERS:-4}

passed=0
failed=0
skipped=0
work=$(mktemp -d /tmp/outpost-tests.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT

section() { printf '\n=== %s\n' "$*"; }

# ---- 1. unit tests
section "unit tests"
if [ -x build/asan/unit-tests ]; then
    build/asan/unit-tests >"$work/unit.log" 2>&1
    rc=$?
    grep -v '^ok ' "$work/unit.log" | tail -200
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$work/unit.log" | tail -n 1)
    if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        passed=$((passed + BASH_REMATCH[1]))
        failed=$((failed + BASH_REMATCH[2]))
        if [ "$rc" != 0 ] && [ "${BASH_REMATCH[2]}" = 0 ]; then
            echo "unit-tests: exit status $rc after all passed (sanitizer at exit?)"
            failed=$((failed + 1))
        fi
    else
        echo "unit-tests: crashed (exit status $rc) before its summary line"
        tail -40 "$work/unit.log"
        failed=$((failed + 1))
    fi
else
    echo "build/asan/unit-tests is missing (make asan)"
    failed=$((failed + 1))
fi

# ---- 2. fuzz targets
section "fuzz targets (${FUZZ_SECONDS}s each)"
nfuzz=0
for bin in build/fuzz/fuzz_*; do
    [ -x "$bin" ] && [ -f "$bin" ] || continue
    case $bin in *.o | *.d) continue ;; esac
    nfuzz=$((nfuzz + 1))
    name=${bin##*/}
    short=${name#fuzz_}
    corpus=$work/corpus-$short
    mkdir -p "$corpus" "$work/artifacts-$short"
    for seeds in "tests/fuzz/corpus/$short" "tests/fuzz/corpus/$name"; do
        [ -d "$seeds" ] && cp -R "$seeds"/. "$corpus"/
    done
    dict=()
    for d in "tests/fuzz/$short.dict" "tests/fuzz/$name.dict"; do
        [ -f "$d" ] && dict=("-dict=$d")
    done
    start=$(date +%s)
    # In a subshell whose stderr is dropped: the shell's own "Aborted" line
    # about a crashed fuzzer would only repeat what the log says.
    (
        "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$work/artifacts-$short/" "${dict[@]}" "$corpus" \
            >"$work/fuzz-$short.log" 2>&1
        exit $?
    ) 2>/dev/null
    rc=$?
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/fuzz-$short.log" | grep -o '[0-9]*$')
    [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$work/fuzz-$short.log" | tail -1 | tr -d '#')
    if [ "$rc" = 0 ]; then
        echo "ok   $name: ${runs:-?} runs in $(($(date +%s) - start))s, corpus $(ls "$corpus" | wc -l) inputs"
        passed=$((passed + 1))
    else
        echo "FAIL $name: exit status $rc"
        # The report from its first line to its SUMMARY, without the shadow-byte map.
        awk '/ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:/ {on = 1}
             on && n < 50 {print; n++}
             /^SUMMARY/ {if (on) exit}' "$work/fuzz-$short.log"
        for a in "$work/artifacts-$short"/*; do
            [ -f "$a" ] || continue
            echo "  crashing input (base64): $(head -c 2048 "$a" | base64 -w0)"
        done
        failed=$((failed + 1))
    fi
done
[ "$nfuzz" = 0 ] && echo "no fuzz targets built"

# ---- 3. interop tests
section "interop tests (pytest)"
if /usr/bin/python3 -c 'import pytest' 2>/dev/null; then
    # -p no:cacheprovider: nothing is written into the repository.
    export OUTPOST_TEST_PIDFILE=$work/server-pids PYTHONDONTWRITEBYTECODE=1
    # The whole interop suite (DNS, POP3, SMTP, FTP with 50 MB transfers)
    # runs under ASan on a shared machine: its bound is generous.
    # Side by side with pytest-xdist when it is installed; tests that need a
    # fixed resource (the embedded default's ports) share an xdist_group and
    # so one worker (--dist loadgroup).
    parallel=""
    if [ "$PYTEST_WORKERS" -gt 0 ] && /usr/bin/python3 -c 'import xdist' 2>/dev/null; then
        parallel="-n $PYTEST_WORKERS --dist loadgroup"
    fi
    # shellcheck disable=SC2086
    timeout "$PYTEST_SECONDS" /usr/bin/python3 -m pytest -q -p no:cacheprovider -rfEs $parallel \
        --basetemp="$work/pytest" ${PYTEST_ARGS:-} tests/interop 2>&1 | tee "$work/pytest.log"
    rc=${PIPESTATUS[0]}
    # A pytest stopped by the timeout cannot stop its servers: do it here, by
    # PID, and only a process still running with this run's config (a PID
    # may since belong to another program, or another checkout's server).
    if [ -f "$work/server-pids" ]; then
        while read -r pid; do
            if grep -qaF "$work/pytest/" "/proc/$pid/cmdline" 2>/dev/null; then
                echo "stopping server $pid left running"
                kill -KILL "$pid" 2>/dev/null
            fi
        done <"$work/server-pids"
    fi
    summary=$(grep -E '(passed|failed|error|skipped|no tests ran)' "$work/pytest.log" |
              grep -E ' in [0-9.]+s' | tail -n 1)
    count() { grep -oE "[0-9]+ $1" <<<"$summary" | grep -oE '^[0-9]+' || echo 0; }
    p=$(count passed)
    f=$(( $(count failed) + $(count errors?) ))
    s=$(count skipped)
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
    case $rc in
    0 | 5) ;;                            # 5: no tests collected
    1) [ "$f" -gt 0 ] || failed=$((failed + 1)) ;;
    124) echo "pytest: stopped after $PYTEST_SECONDS s"; failed=$((failed + 1)) ;;
    *) echo "pytest: exit status $rc"; [ "$f" -gt 0 ] || failed=$((failed + 1)) ;;
    esac
else
    echo "pytest is not installed for /usr/bin/python3 (scripts/setup.sh test)"
    failed=$((failed + 1))
fi

echo
if [ "$skipped" -gt 0 ]; then
    echo "total: $passed passed, $failed failed, $skipped skipped"
else
    echo "total: $passed passed, $failed failed"
fi
[ "$failed" = 0 ]
