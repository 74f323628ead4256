#!/usr/bin/env bash
# run.sh - runs every libFuzzer target of tests/fuzz over a fresh copy of
# its seed corpus and prints, per target, the executions, executions per
# second and coverage (libFuzzer's cov: and ft: of the seeds alone, then
# at the end). README "Testing".
#
# Usage: bash tests/fuzz/run.sh [SECONDS]   each target for SECONDS (default 30)
#        bash tests/fuzz/run.sh --runs N    each target for N executions (what
#                                           tests/run.sh does in every run)
#
# It first configures and builds the targets in FUZZ_BUILD_DIR (default
# build-fuzz/: CC=clang, -DMNEMO_FUZZ=ON, -DMNEMO_TESTS=OFF), unless
# FUZZ_NO_BUILD=1 (tests/run.sh builds them itself). FUZZ_TARGETS (default:
# all five) picks some; JOBS (default: number of CPUs) is for the build.
# Everything it writes stays in the build dir: fuzz-corpus/<target>/ (the
# seeds plus what the run found), fuzz-logs/<target>.log and, when a target
# fails, fuzz-artifacts/<target>-crash-<sha1> (the input; rerun it with
# `<build>/tests/fuzz/<target> <file>`). The committed corpus is never
# written. Exits non-zero when a build or any target fails.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=${FUZZ_BUILD_DIR:-$root/build-fuzz}
targets=(${FUZZ_TARGETS:-fuzz_request fuzz_pagetoken fuzz_ignore fuzz_tokenizer fuzz_chunker})
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

limit=(-max_total_time=30)
budget=150 # seconds before `timeout` stops a target that hangs past its limit
case "${1:-}" in
--runs)
    [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] | --runs N" >&2; exit 2; }
    limit=(-runs="$2")
    budget=600
    ;;
'') ;;
*)
    [[ "$1" =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] | --runs N" >&2; exit 2; }
    limit=(-max_total_time="$1")
    budget=$(($1 + 120))
    ;;
esac

if [[ "${FUZZ_NO_BUILD:-0}" != "1" ]]; then
    CC=clang cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMNEMO_FUZZ=ON \
        -DMNEMO_TESTS=OFF >/dev/null
    cmake --build "$dir" -j "$jobs" --target "${targets[@]}"
fi

# Leaks and UB end the run with the input saved (UB is already fatal:
# -fno-sanitize-recover, cmake/Fuzz.cmake).
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

mkdir -p "$dir/fuzz-corpus" "$dir/fuzz-logs" "$dir/fuzz-artifacts"
summary=()
failed=0
for t in "${targets[@]}"; do
    bin=$dir/tests/fuzz/$t
    work=$dir/fuzz-corpus/$t
    log=$dir/fuzz-logs/$t.log
    rm -rf "$work"
    cp -r "$root/tests/fuzz/corpus/$t" "$work"
    echo "=== $t: ${limit[*]} over $(find "$work" -type f | wc -l) seeds"
    rc=0
    t0=$(date +%s.%N)
    timeout "$budget" "$bin" "${limit[@]}" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$dir/fuzz-artifacts/$t-" "$work" >"$log" 2>&1 || rc=$?
    secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    # "#123 INITED cov: 87 ft: 194 corp: 7/580b ..." and "#N DONE cov: ..."
    seeds=$(grep -m1 -E '^#[0-9]+[[:space:]]+INITED' "$log" |
        sed -nE 's/.*cov: ([0-9]+) ft: ([0-9]+).*/\1\/\2/p' || true)
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
    final=$(sed -nE 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/\1\/\2 corpus \3/p' <<<"$done_line")
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
    # libFuzzer's own average counts whole seconds: divide by the wall time.
    rate=$(awk -v n="${execs:-0}" -v s="$secs" 'BEGIN { printf "%d", (s > 0 ? n / s : 0) }')
    if [[ $rc -eq 0 && -n "$done_line" ]]; then
        result=ok
    else
        result="FAILED (exit $rc)"
        failed=$((failed + 1))
        tail -n 40 "$log"
        artifact=$(sed -nE "s/.*Test unit written to (.*)/\1/p" "$log" | tail -n 1)
        [[ -n "$artifact" ]] && echo "$t: input saved as $artifact; rerun: $bin $artifact"
        echo "$t: full log in $log"
    fi
    summary+=("$(printf '  %-15s %9s execs %6ss %7s/s  cov/ft seeds %-8s end %-21s %s' \
        "$t" "${execs:-?}" "$secs" "$rate" "${seeds:-?}" "${final:-?}" "$result")")
done

echo "=== fuzz summary (${limit[*]})"
printf '%s\n' "${summary[@]}"
[[ $failed -eq 0 ]]
