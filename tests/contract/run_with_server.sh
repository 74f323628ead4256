#!/usr/bin/env bash
# run_with_server.sh - gives a contract runner its own mnemod (README.md in
# this directory, "Running"): 127.0.0.1 on an ephemeral port, a fresh data
# dir, and an allowed root in which the runner creates its sync trees.
#
# Usage: run_with_server.sh MNEMOD RUNNER_COMMAND...
# The runner gets MNEMO_SERVER (host:port) and MNEMO_CONTRACT_ROOT (the
# allowed root, canonical, empty). Exit status: the runner's; 1 when mnemod
# does not start or does not exit 0 on SIGTERM.
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: $0 MNEMOD RUNNER_COMMAND..." >&2
    exit 2
fi
mnemod=$1
shift

# A developer's MNEMO_* settings must change neither the server nor the
# runner; MNEMO_NODE_CLIENT (which built Node client runner_node.js loads,
# set by ctest) is the test's own.
while IFS= read -r var; do
    [[ $var == MNEMO_NODE_CLIENT ]] || unset "$var"
done < <(env | sed -n 's/^\(MNEMO_[A-Za-z0-9_]*\)=.*/\1/p')

work=$(realpath "$(mktemp -d "${TMPDIR:-/tmp}/mnemo-contract-XXXXXX")")
mkdir "$work/root"
log=$work/mnemod.log
pid=""
cleanup() {
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

dump_log() {
    echo "--- mnemod log (last 40 lines) ---" >&2
    tail -n 40 "$log" | sed 's/^/[mnemod] /' >&2
}

# Each batch lasts at least 20 ms: syncs of a few hundred one-file batches
# run long enough to be cancelled, or to outlive a deadline, mid-way.
: >"$log"
"$mnemod" --listen 127.0.0.1:0 --data-dir "$work/data" --allow-root "$work/root" \
    --batch-pause-ms 20 </dev/null >"$log" 2>&1 &
pid=$!
addr=""
for _ in $(seq 1 300); do
    addr=$(sed -n 's/.*listening on \([^ ]*:[0-9]*\).*/\1/p' "$log" | head -n 1)
    [[ -n "$addr" ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [[ -z "$addr" ]]; then
    echo "run_with_server: mnemod did not start" >&2
    dump_log
    exit 1
fi

rc=0
MNEMO_SERVER=$addr MNEMO_CONTRACT_ROOT=$work/root "$@" || rc=$?

kill -TERM "$pid"
src=0
wait "$pid" || src=$?
pid=""
if [[ $src -ne 0 ]]; then
    echo "run_with_server: mnemod exited $src on SIGTERM, want 0" >&2
    rc=1
fi
if [[ $rc -ne 0 ]]; then
    dump_log
fi
exit "$rc"
