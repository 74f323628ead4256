#!/usr/bin/env bash
# run.sh - the one test command of mnemo (README "Testing"; CI runs it through
# .ci/run). Installs the dependencies, then:
#   1. format: clang-format --dry-run -Werror over every tracked *.c / *.h;
#   2. build/      RelWithDebInfo build with a shared libmnemo, ctest (unit +
#                  integration + python + install);
#   3. build-asan/ the same with AddressSanitizer + UBSan (-DMNEMO_SANITIZE=ON)
#                  and a static libmnemo, leaks and UB fatal. So both ways
#                  of building libmnemo are installed and used by a program
#                  (install.consumer) in every run;
#   4. build-fuzz/ the libFuzzer targets of tests/fuzz (CC=clang,
#                  -DMNEMO_FUZZ=ON), each run for FUZZ_RUNS executions over
#                  a copy of its seed corpus (tests/fuzz/run.sh --runs);
#   5. build-tsan/ the concurrency-heavy unit tests under ThreadSanitizer
#                  (-DMNEMO_TSAN=ON, tests/tsan.supp), any report fatal.
# Every step runs even when an earlier one failed, so one run reports all
# problems; the exit status is non-zero when any step failed, and the last
# lines are a per-step summary and the total of ctest results.
#
# Environment: JOBS (default: number of CPUs) for builds; BUILD_DIR and
# ASAN_BUILD_DIR (default build, build-asan) to keep several trees apart;
# MNEMO_SKIP_ASAN=1 skips step 3, MNEMO_SKIP_FUZZ=1 step 4 and
# MNEMO_SKIP_TSAN=1 step 5 (local iteration only; CI runs everything);
# FUZZ_BUILD_DIR (default build-fuzz), FUZZ_RUNS (default 150000: about
# 30 s for the five targets on 2 cores) and TSAN_BUILD_DIR (build-tsan).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
# ctest's own parallelism is capped at 2: integration tests spawn servers with
# their own thread pools, and timing-sensitive tests should not starve.
ctest_jobs=2
if ((jobs < ctest_jobs)); then
    ctest_jobs=$jobs
fi

# Closed stdin: nothing below may wait for a terminal (CI has none).
exec </dev/null

bash cmake/install-deps.sh

results=()      # "step: OK|FAILED" lines for the summary
failed_steps=0
tests_passed=0
tests_failed=0

record() { # record STEP RC
    if [[ $2 -eq 0 ]]; then
        results+=("  $1: OK")
    else
        results+=("  $1: FAILED (exit $2)")
        failed_steps=$((failed_steps + 1))
    fi
}

# Files to check: tracked sources, so a developer's scratch files and build
# trees never count; generated protobuf-c code lives in build dirs, but skip
# *.pb-c.* anyway in case one is ever committed. Outside git (a tarball),
# fall back to the source folders.
format_check() {
    local files=()
    if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        mapfile -t files < <(git -C "$root" ls-files -- '*.c' '*.h' | grep -v '\.pb-c\.[ch]$' || true)
    else
        mapfile -t files < <(find proto server client tests -name '*.[ch]' ! -name '*.pb-c.*' | sort)
    fi
    if [[ ${#files[@]} -eq 0 ]]; then
        echo "format: no C sources found" >&2
        return 1
    fi
    echo "format: checking ${#files[@]} files with $(clang-format --version)"
    clang-format --dry-run -Werror "${files[@]}"
}

# build_and_test NAME DIR CMAKE_ARGS...: configure, build, run ctest; adds
# ctest's pass/fail counts to the totals.
build_and_test() {
    local name=$1 dir=$2
    shift 2
    local rc=0
    echo "=== $name: configure + build in $dir"
    if ! cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"; then
        record "$name build" 1
        return
    fi
    cmake --build "$dir" -j "$jobs" || rc=$?
    record "$name build" "$rc"
    if [[ $rc -ne 0 ]]; then
        return
    fi

    echo "=== $name: ctest"
    local log="$dir/ctest-run.log"
    rc=0
    (cd "$dir" && ctest --output-on-failure -j "$ctest_jobs") 2>&1 | tee "$log" || rc=$?
    # tee succeeds; the pipeline's status is ctest's thanks to pipefail.
    record "$name ctest" "$rc"

    # "100% tests passed, 0 tests failed out of 24"
    local line total nfailed
    line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
    if [[ -n "$line" ]]; then
        nfailed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
        total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
        tests_passed=$((tests_passed + total - nfailed))
        tests_failed=$((tests_failed + nfailed))
    elif [[ $rc -ne 0 ]]; then
        tests_failed=$((tests_failed + 1))
    fi
}

# fuzz_step: builds the fuzz targets with clang in their own tree and runs
# each briefly; a crash, leak, UB or broken contract fails the step, with
# the input saved under <dir>/fuzz-artifacts/ (tests/fuzz/run.sh).
fuzz_step() {
    local dir=${FUZZ_BUILD_DIR:-$root/build-fuzz} runs=${FUZZ_RUNS:-150000} rc=0
    local t0=$SECONDS
    echo "=== fuzz: configure + build in $dir (clang, libFuzzer)"
    if ! CC=clang cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMNEMO_FUZZ=ON \
        -DMNEMO_TESTS=OFF; then
        record "fuzz build" 1
        return
    fi
    cmake --build "$dir" -j "$jobs" --target fuzz || rc=$?
    record "fuzz build ($((SECONDS - t0))s)" "$rc"
    if [[ $rc -ne 0 ]]; then
        return
    fi
    t0=$SECONDS
    FUZZ_NO_BUILD=1 FUZZ_BUILD_DIR=$dir bash "$root/tests/fuzz/run.sh" --runs "$runs" || rc=$?
    record "fuzz run ($runs runs per target, $((SECONDS - t0))s)" "$rc"
}

# tsan_step: the unit tests that run threads against each other, built
# with -DMNEMO_TSAN=ON (about 40 s on 2 cores); a TSan report makes the
# test binary exit 66, so its test fails.
tsan_step() {
    local dir=${TSAN_BUILD_DIR:-$root/build-tsan} rc=0 t0=$SECONDS
    local modules=(sync codeindex index memories store)
    echo "=== tsan: configure + build in $dir"
    if ! cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMNEMO_TSAN=ON; then
        record "tsan build" 1
        return
    fi
    cmake --build "$dir" -j "$jobs" --target "${modules[@]/#/test_}" || rc=$?
    record "tsan build ($((SECONDS - t0))s)" "$rc"
    if [[ $rc -ne 0 ]]; then
        return
    fi
    t0=$SECONDS
    echo "=== tsan: ctest unit.{$(IFS=,; echo "${modules[*]}")}"
    (cd "$dir" && TSAN_OPTIONS="suppressions=$root/tests/tsan.supp second_deadlock_stack=1" \
        ctest --output-on-failure -j "$ctest_jobs" -R "^unit\.($(IFS='|'; echo "${modules[*]}"))\$") ||
        rc=$?
    record "tsan ctest (${#modules[@]} unit tests, $((SECONDS - t0))s)" "$rc"
}

start=$(date +%s)

rc=0
format_check || rc=$?
record "format (clang-format)" "$rc"

build_and_test "normal" "${BUILD_DIR:-$root/build}" -DMNEMO_SANITIZE=OFF -DBUILD_SHARED_LIBS=ON

if [[ "${MNEMO_SKIP_ASAN:-0}" != "1" ]]; then
    # Leaks, memory errors and UB all end the process with an error, so a test
    # binary (or a spawned mnemod) that trips one fails its test.
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    build_and_test "asan+ubsan" "${ASAN_BUILD_DIR:-$root/build-asan}" -DMNEMO_SANITIZE=ON \
        -DBUILD_SHARED_LIBS=OFF
else
    results+=("  asan+ubsan: SKIPPED (MNEMO_SKIP_ASAN=1)")
fi

if [[ "${MNEMO_SKIP_FUZZ:-0}" != "1" ]]; then
    fuzz_step
else
    results+=("  fuzz: SKIPPED (MNEMO_SKIP_FUZZ=1)")
fi

if [[ "${MNEMO_SKIP_TSAN:-0}" != "1" ]]; then
    tsan_step
else
    results+=("  tsan: SKIPPED (MNEMO_SKIP_TSAN=1)")
fi

elapsed=$(($(date +%s) - start))
echo
echo "=== tests/run.sh summary ($((elapsed / 60))m$((elapsed % 60))s)"
printf '%s\n' "${results[@]}"
if [[ $failed_steps -eq 0 ]]; then
    echo "ALL STEPS PASSED"
else
    echo "FAILED STEPS: $failed_steps"
fi
echo "ctest: $tests_passed passed, $tests_failed failed"
[[ $failed_steps -eq 0 ]]
