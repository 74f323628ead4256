#!/usr/bin/env bash
# test_cli.sh - the `mnemo` CLI end to end against a real mnemod: store ->
# search -> get -> list/tags -> delete, every --json output parsed with
# python3's json module, and the documented exit codes (client/cli/cli.h):
# 0 ok, 1 the server answered with an error, 2 usage, 3 server unreachable.
#
# usage: test_cli.sh MNEMOD MNEMO     (ctest passes both paths)
#
# Each check prints "ok"/"FAIL" and the script ends with a
# "N passed, N failed" line; the exit status is non-zero on any failure.
set -euo pipefail

mnemod=${1:?usage: test_cli.sh MNEMOD MNEMO}
mnemo=${2:?usage: test_cli.sh MNEMOD MNEMO}
# Debian's interpreter: a pyenv python3 may shadow it, and only json is
# needed, but one interpreter for all tests keeps failures comparable.
py=/usr/bin/python3
[[ -x $py ]] || py=python3

# shellcheck source=cli_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

# json EXPR: evaluates a Python expression over d = the JSON in $work/out and
# prints it; exits 1 when stdout is not one JSON document.
json() {
    "$py" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$work/out" "$1"
}

sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# ---- start mnemod --------------------------------------------------------
start_mnemod cli
export MNEMO_SERVER=$addr

# ---- store ---------------------------------------------------------------
content="the cli stores this text about a heron"
want_id=$(sha256 "$content")
run 0 "store" store "$content" --tag cli --tag birds --meta source=test --type note
check "store prints the id" "stored $want_id" "$(head -n 1 "$work/out")"

run 0 "store again" store "$content" --tag extra
check "store again says it was there" "already stored $want_id (tags merged)" \
    "$(head -n 1 "$work/out")"

run 0 "store --json" --json store "$content"
check "store --json: created" "False" "$(json 'd["created"]' || true)"
check "store --json: memory.id" "$want_id" "$(json 'd["memory"]["id"]' || true)"
check "store --json: tags merged" "['birds', 'cli', 'extra']" \
    "$(json 'sorted(d["memory"]["tags"])' || true)"
check "store --json: metadata" "{'source': 'test'}" "$(json 'd["memory"]["metadata"]' || true)"

rc=0
printf 'read from stdin\n\n' | "$mnemo" --json store - >"$work/out" 2>"$work/err" || rc=$?
check "store - (stdin) exits 0" "0" "$rc"
check "store - trims trailing newlines" "$(sha256 'read from stdin')" \
    "$(json 'd["memory"]["id"]' || true)"

utf8="caf\u00e9 \u2713 \U0001d11e heron"
utf8=$(printf "$utf8")
run 0 "store UTF-8" --json store "$utf8"
check "UTF-8 content round-trips through --json" "$utf8" "$(json 'd["memory"]["content"]' || true)"

# ---- search / get / list / tags ---------------------------------------------
run 0 "search" search heron
if grep -q "$want_id" "$work/out"; then ok "search shows the id"; else fail "search shows the id"; fi

run 0 "search --json" search heron stores --json --limit 5
check "search --json: best result" "$want_id" "$(json 'd["results"][0]["memory"]["id"]' || true)"
check "search --json: scores descend" "True" \
    "$(json 'all(a["score"] >= b["score"] for a, b in zip(d["results"], d["results"][1:]))' || true)"
check "search --json: not truncated" "False" "$(json 'd["truncated"]' || true)"

run 0 "get" get "$want_id"
if grep -qF "$content" "$work/out"; then ok "get shows the content"; else fail "get shows the content"; fi

run 0 "get --json" --json get "$want_id"
check "get --json: content" "$content" "$(json 'd["content"]' || true)"
check "get --json: type" "note" "$(json 'd["memory_type"]' || true)"

run 0 "list --json" list --tag cli --json
check "list --json: the tagged memory" "['$want_id']" "$(json '[m["id"] for m in d["memories"]]' || true)"
check "list --json: last page" "" "$(json 'd.get("next_page_token") or ""' || true)"

run 0 "tags --json" tags birds cli --all --json
check "tags --all --json" "['$want_id']" "$(json '[m["id"] for m in d["memories"]]' || true)"
check "tags --json: not truncated" "False" "$(json 'd["truncated"]' || true)"

run 0 "health" health
if grep -q SERVING "$work/out"; then ok "health says SERVING"; else fail "health says SERVING"; fi
run 0 "health --json" health mnemo.v1.MemoryService --json
check "health --json" "SERVING" "$(json 'd["status"]' || true)"

# ---- delete ----------------------------------------------------------------
run 0 "delete" delete "$want_id"
run 0 "delete --json of an absent id (idempotent)" delete "$want_id" --json
check "delete --json: deleted false" "False" "$(json 'd["deleted"]' || true)"

# ---- errors from the server: exit 1 ----------------------------------------
run 1 "get a deleted id" get "$want_id"
if grep -q NOT_FOUND "$work/err"; then ok "get: NOT_FOUND on stderr"; else fail "get: NOT_FOUND on stderr"; fi
run 1 "get a malformed id" get not-an-id
if grep -q INVALID_ARGUMENT "$work/err" && grep -q id "$work/err"; then
    ok "get: INVALID_ARGUMENT naming id"
else
    fail "get: INVALID_ARGUMENT naming id"
fi
run 1 "search with --limit 1001" search heron --limit 1001
long_tag=$(printf 't%.0s' $(seq 1 129))
run 1 "store with a 129-byte tag" store "tag too long" --tag "$long_tag"

# ---- usage errors: exit 2 --------------------------------------------------
run 2 "no command" 
run 2 "unknown command" frobnicate
run 2 "get without an id" get
run 2 "unknown option" store "x" --bogus
run 2 "--limit not a number" search heron --limit many
run 2 "--meta without =" store "x" --meta novalue
run 0 "--help" --help
run 0 "--version" --version

# ---- no server: exit 3 -----------------------------------------------------
run 3 "--server with nothing listening" --server 127.0.0.1:1 get "$want_id"
rc=0
MNEMO_SERVER=127.0.0.1:1 "$mnemo" health </dev/null >"$work/out" 2>"$work/err" || rc=$?
check "MNEMO_SERVER with nothing listening exits 3" "3" "$rc"
if [[ -s $work/err ]]; then ok "unreachable: a message on stderr"; else fail "unreachable: a message on stderr"; fi

# ---- stop mnemod -------------------------------------------------------------
stop_mnemod cli

echo "cli: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
