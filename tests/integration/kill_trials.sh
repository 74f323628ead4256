#!/usr/bin/env bash
# kill_trials.sh - more kill -9 trials than CI runs: the kill -9 tests of
# itest_server_lifecycle (kill during concurrent stores; kill during a sync
# with stores, then resume and compare with a clean sync) with
# MNEMO_KILL_TRIALS=N each, and the count that matters: acknowledged
# writes lost (goal 0).
#
# Usage: bash tests/integration/kill_trials.sh --trials N [--build-dir DIR]
#   --trials     trials of each kill -9 test (CI runs 3)
#   --build-dir  build tree to use (configured and built here when it has
#                no CMakeCache.txt; default build-kill/ at the repository
#                root, RelWithDebInfo)
# Prints one line per trial, then: trials run, acknowledged memories
# checked and lost, sync trials whose resumed index differed from a clean
# one. Exit status 0 when nothing was lost and every check passed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
trials=""
build_dir=$root/build-kill
while [[ $# -gt 0 ]]; do
    case $1 in
    --trials) trials=$2; shift ;;
    --build-dir) build_dir=$2; shift ;;
    -h | --help) sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "kill_trials.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[[ $trials =~ ^[1-9][0-9]*$ ]] || { echo "usage: kill_trials.sh --trials N [--build-dir DIR]" >&2; exit 2; }
exec </dev/null

if [[ ! -f $build_dir/CMakeCache.txt ]]; then
    cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build_dir" -j "$(nproc)" --target mnemod itest_server_lifecycle >/dev/null

log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
(cd "$(dirname "$log")" &&
    MNEMO_KILL_TRIALS=$trials MNEMO_KILL_ONLY=1 \
        "$build_dir/tests/integration/itest_server_lifecycle") >"$log" 2>&1 || rc=$?
# CUnit prints a test's name without a newline: a line may start after it.
grep -oE 'kill trial.*|^FAIL.*' "$log" || true
awk -v rc="$rc" '
    match($0, /kill trial: .*/) { split(substr($0, RSTART), f, " ")
                                  n++; acked += f[3]; lost += f[6] + f[8] }
    /kill trial \(sync\)/ { sync++; if ($0 ~ /DIFFERS/) differs++ }
    END {
        printf "\ntrials run: %d (%d during stores, %d during a sync)\n", n, n - sync, sync
        printf "acknowledged memories checked: %d, lost or changed: %d (goal 0)\n", acked, lost
        printf "sync trials whose resumed search differed from a clean sync: %d\n", differs
        printf "itest_server_lifecycle: %s\n", rc == 0 ? "passed" : "FAILED (exit " rc ")"
    }' "$log"
if ((rc != 0)); then
    sed -n '/Run Summary/,$p' "$log"
fi
exit "$rc"
