# cli_lib.sh - what the CLI tests share (test_cli.sh, test_cli_security.sh):
# a scratch dir, real mnemods on 127.0.0.1:0, running `mnemo` with its exit
# status checked, and "ok"/"FAIL" lines counted for the closing
# "N passed, N failed" line. Sourced, not run.
#
# The sourcing script sets $mnemod and $mnemo first. Provides $work (removed
# at exit, with every mnemod started killed), and:
#   ok TEXT / fail TEXT          count and print a result
#   check TEXT WANT GOT          ok when equal
#   run WANT_RC TEXT ARGS...     mnemo ARGS, stdin closed; stdout and stderr
#                                in $work/out and $work/err, both appended
#                                to $work/all-output
#   run_env WANT_RC TEXT VAR=VALUE... -- ARGS...   the same with env vars
#   start_mnemod NAME ARGS...    mnemod ARGS on 127.0.0.1:0, data in
#                                $work/data-NAME, log $work/mnemod-NAME.log;
#                                sets $addr (exits the script when it fails)
#   stop_mnemod NAME             SIGTERM; checks exit 0 (dumps the log if not)

# A developer's MNEMO_* and gRPC settings must not leak into the tests.
while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(MNEMO_[A-Za-z0-9_]*\)=.*/\1/p')
unset GRPC_VERBOSITY GRPC_TRACE GRPC_DEFAULT_SSL_ROOTS_FILE_PATH

work=$(mktemp -d "${TMPDIR:-/tmp}/mnemo-cli-test-XXXXXX")
declare -A pids=()
passed=0
failed=0
: >"$work/all-output"

cli_cleanup() {
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$work"
}
trap cli_cleanup EXIT

ok() {
    passed=$((passed + 1))
    echo "ok   - $1"
}
fail() {
    failed=$((failed + 1))
    echo "FAIL - $1"
    # What the last command said, to debug from ctest's output alone.
    [[ -s $work/out ]] && sed 's/^/       stdout: /' "$work/out" | head -n 20
    [[ -s $work/err ]] && sed 's/^/       stderr: /' "$work/err" | head -n 20
    return 0
}
check() {
    if [[ "$2" == "$3" ]]; then ok "$1"; else fail "$1: got '$3', want '$2'"; fi
}

run() {
    local want=$1 what=$2
    shift 2
    run_env "$want" "$what" -- "$@"
}

run_env() {
    local want=$1 what=$2
    shift 2
    local -a envs=()
    while [[ $1 != -- ]]; do
        envs+=("$1")
        shift
    done
    shift
    local rc=0
    env "${envs[@]}" "$mnemo" "$@" </dev/null >"$work/out" 2>"$work/err" || rc=$?
    cat "$work/out" "$work/err" >>"$work/all-output"
    if [[ $rc -eq $want ]]; then
        ok "$what (exit $rc)"
    else
        fail "$what: exit $rc, want $want"
    fi
}

start_mnemod() {
    local name=$1
    shift
    # Created here: the child opens it only after the fork, maybe after the
    # first look below (a failing sed would end the script under set -e).
    : >"$work/mnemod-$name.log"
    "$mnemod" --listen 127.0.0.1:0 --data-dir "$work/data-$name" "$@" </dev/null \
        >"$work/mnemod-$name.log" 2>&1 &
    pids[$name]=$!
    addr=""
    for _ in $(seq 1 200); do
        addr=$(sed -n 's/.*listening on \([^ ]*:[0-9]*\).*/\1/p' "$work/mnemod-$name.log" | head -n 1 || true)
        [[ -n "$addr" ]] && break
        kill -0 "${pids[$name]}" 2>/dev/null || break
        sleep 0.1
    done
    if [[ -z "$addr" ]]; then
        echo "mnemod $name did not start; its log:" >&2
        cat "$work/mnemod-$name.log" >&2
        exit 1
    fi
    echo "mnemod $name listening on $addr"
}

stop_mnemod() {
    local rc=0
    kill -TERM "${pids[$1]}"
    wait "${pids[$1]}" || rc=$?
    unset "pids[$1]"
    check "mnemod $1 exits 0 on SIGTERM" "0" "$rc"
    if [[ $rc -ne 0 ]]; then sed 's/^/       mnemod: /' "$work/mnemod-$1.log" | tail -n 40; fi
}
