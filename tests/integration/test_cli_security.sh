#!/usr/bin/env bash
# test_cli_security.sh - the `mnemo` CLI's TLS, mutual TLS and bearer
# tokens against real mnemods on 127.0.0.1:0: certificates made now by
# make_certs.sh, tokens made by `mnemo token new` and hashed into the
# --auth-tokens file by `mnemod hash-token`.
#
# What it checks: TLS with the right CA (flag and MNEMO_TLS_CA) works and
# without it (default roots, another CA, plaintext, a certificate for
# another name, an expired one) exits 3 with UNAVAILABLE and a hint;
# --tls-server-name; mutual TLS with the client certificate (flags and
# MNEMO_CLIENT_TLS_*, never mnemod's MNEMO_TLS_CERT) and without it;
# unusable files exit 2 naming the flag; tokens: none -> exit 1 and a hint,
# a read token on `store` -> PERMISSION_DENIED and a hint naming the role,
# a write token (--token-file, MNEMO_TOKEN, MNEMO_TOKEN_FILE) stores, also
# over TLS, and streams carry the token too; `mnemo token hash` equals
# `mnemod hash-token`. Finally no token appears in any output of the CLI
# nor in any mnemod log.
#
# usage: test_cli_security.sh MNEMOD MNEMO MAKE_CERTS   (ctest passes them)
#
# Each check prints "ok"/"FAIL"; the script ends with "N passed, N failed"
# and exits non-zero on any failure.
set -euo pipefail

mnemod=${1:?usage: test_cli_security.sh MNEMOD MNEMO MAKE_CERTS}
mnemo=${2:?usage: test_cli_security.sh MNEMOD MNEMO MAKE_CERTS}
make_certs=${3:?usage: test_cli_security.sh MNEMOD MNEMO MAKE_CERTS}

# shellcheck source=cli_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

# has FILE TEXT DESCRIPTION: the file (out or err) contains TEXT.
has() {
    if grep -qF -- "$2" "$work/$1"; then ok "$3"; else fail "$3: no '$2' in $1"; fi
}
lacks() {
    if grep -qF -- "$2" "$work/$1"; then fail "$3: '$2' in $1"; else ok "$3"; fi
}

certs=$work/certs
bash "$make_certs" "$certs" >/dev/null

# ---- TLS -------------------------------------------------------------------
start_mnemod tls --tls-cert "$certs/server.pem" --tls-key "$certs/server.key"
tls=$addr
run 0 "TLS with --tls-ca" --server "$tls" --tls-ca "$certs/ca.pem" health
has out SERVING "TLS with --tls-ca: SERVING"
run_env 0 "TLS with MNEMO_TLS_CA (implies TLS)" MNEMO_TLS_CA="$certs/ca.pem" -- \
    --server "$tls" store "stored over TLS" --json
# The name "localhost" through --tls-server-name, not a lookup: c-ares leaks
# a few bytes resolving it, which fails the AddressSanitizer build.
run 0 "TLS checking the SAN DNS:localhost" --server "$tls" --tls-server-name localhost \
    --tls-ca "$certs/ca.pem" search "stored over TLS"
has out "stored over TLS" "TLS: search finds what was stored"
run 3 "TLS with the default roots (the test CA is not among them)" --server "$tls" --tls health
has err "mnemo: UNAVAILABLE: cannot reach $tls" "default roots: UNAVAILABLE naming the server"
has err "hint: the TLS handshake failed" "default roots: a hint"
run 3 "TLS with another CA" --server "$tls" --tls-ca "$certs/other-ca.pem" health
has err UNAVAILABLE "another CA: UNAVAILABLE"
run 3 "plaintext to a TLS server" --server "$tls" health
has err UNAVAILABLE "plaintext to TLS: UNAVAILABLE"
has err "hint: the server closed the connection at once: if it speaks TLS" "plaintext to TLS: a hint"
run 2 "--tls-ca that does not exist" --server "$tls" --tls-ca "$work/nope.pem" health
has err "mnemo: --tls-ca: cannot read $work/nope.pem" "missing --tls-ca: names the flag and file"
run_env 2 "MNEMO_TLS_CA that does not exist" MNEMO_TLS_CA="$work/nope.pem" -- --server "$tls" health
has err "mnemo: MNEMO_TLS_CA: cannot read" "missing MNEMO_TLS_CA: names the variable"
run 2 "--tls-ca holding a key, not a certificate" --server "$tls" --tls-ca "$certs/ca.key" health
has err "holds no valid PEM certificate" "--tls-ca with a key: says so"
stop_mnemod tls

start_mnemod plain
run 3 "TLS to a plaintext server" --server "$addr" --tls-ca "$certs/ca.pem" health
has err "hint: the TLS handshake failed" "TLS to plaintext: a hint"
stop_mnemod plain

start_mnemod wrong_host --tls-cert "$certs/wrong-host.pem" --tls-key "$certs/wrong-host.key"
run 3 "a certificate for another name" --server "$addr" --tls-ca "$certs/ca.pem" health
has err UNAVAILABLE "another name: UNAVAILABLE"
run 0 "--tls-server-name the certificate's name" --server "$addr" --tls-ca "$certs/ca.pem" \
    --tls-server-name wrong.example health
stop_mnemod wrong_host

start_mnemod expired --tls-cert "$certs/expired.pem" --tls-key "$certs/expired.key"
run 3 "an expired server certificate" --server "$addr" --tls-ca "$certs/ca.pem" health
stop_mnemod expired

# ---- mutual TLS ------------------------------------------------------------
start_mnemod mtls --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" \
    --tls-client-ca "$certs/ca.pem"
mtls=$addr
run 0 "mTLS with --tls-cert/--tls-key" --server "$mtls" --tls-ca "$certs/ca.pem" \
    --tls-cert "$certs/client.pem" --tls-key "$certs/client.key" store "over mutual TLS"
run_env 0 "mTLS with MNEMO_CLIENT_TLS_CERT/KEY" MNEMO_TLS_CA="$certs/ca.pem" \
    MNEMO_CLIENT_TLS_CERT="$certs/client.pem" MNEMO_CLIENT_TLS_KEY="$certs/client.key" -- \
    --server "$mtls" health
run_env 3 "mTLS: mnemod's MNEMO_TLS_CERT/KEY are not the client's" MNEMO_TLS_CA="$certs/ca.pem" \
    MNEMO_TLS_CERT="$certs/client.pem" MNEMO_TLS_KEY="$certs/client.key" -- --server "$mtls" health
run 3 "mTLS without a client certificate" --server "$mtls" --tls-ca "$certs/ca.pem" health
has err UNAVAILABLE "mTLS without a certificate: UNAVAILABLE"
has err "hint: the server closed the connection during the handshake" "mTLS without a certificate: a hint"
run 3 "mTLS with a certificate of another CA" --server "$mtls" --tls-ca "$certs/ca.pem" \
    --tls-cert "$certs/other-client.pem" --tls-key "$certs/other-client.key" health
run 2 "--tls-cert without --tls-key" --server "$mtls" --tls-ca "$certs/ca.pem" \
    --tls-cert "$certs/client.pem" health
has err "--tls-cert: needs its private key" "--tls-cert alone: says the key is missing"
run 2 "--tls-key of another certificate" --server "$mtls" --tls-ca "$certs/ca.pem" \
    --tls-cert "$certs/client.pem" --tls-key "$certs/server.key" health
has err "is not the private key of the certificate" "mismatched key: says so"
stop_mnemod mtls

# ---- tokens ----------------------------------------------------------------
run 0 "token new --out (read)" token new --out "$work/read.token"
run 0 "token new --out (write)" token new --out "$work/write.token"
run 0 "token new --out (admin)" token new --out "$work/admin.token"
check "token new --out: mode 600" "600" "$(stat -c %a "$work/read.token")"
read_token=$(head -n 1 "$work/read.token")
write_token=$(head -n 1 "$work/write.token")
admin_token=$(head -n 1 "$work/admin.token")
check "a new token is 43 base64url characters" "43" \
    "$(printf '%s' "$read_token" | tr -cd 'A-Za-z0-9_-' | wc -c)"
{
    echo "$("$mnemod" hash-token <"$work/read.token") read reader"
    echo "$("$mnemod" hash-token <"$work/write.token") write writer"
    echo "$("$mnemod" hash-token <"$work/admin.token") admin boss"
} >"$work/tokens"
rc=0
"$mnemo" token hash <"$work/write.token" >"$work/out" 2>"$work/err" || rc=$?
cat "$work/out" "$work/err" >>"$work/all-output"
check "token hash exits 0" "0" "$rc"
check "token hash equals mnemod hash-token" "$("$mnemod" hash-token <"$work/write.token")" \
    "$(cat "$work/out")"
# The printed token of `token new` (the only output that holds one) stays
# out of all-output.
rc=0
new_token=$("$mnemo" token new) || rc=$?
check "token new prints 43 characters" "0 43" "$rc ${#new_token}"

start_mnemod auth --auth-tokens "$work/tokens"
auth=$addr
run 0 "health needs no token" --server "$auth" health
run 1 "store without a token" --server "$auth" store "no token"
has err "mnemo: UNAUTHENTICATED:" "no token: UNAUTHENTICATED"
has err "hint: this server wants a token: --token-file FILE or MNEMO_TOKEN" "no token: the hint"
run 1 "store with a read token" --server "$auth" --token-file "$work/read.token" store "read only"
has err "mnemo: PERMISSION_DENIED:" "read token: PERMISSION_DENIED"
has err "needs role write" "read token: the server names the role"
has err "hint: this call needs role write" "read token: the hint names the role"
run 0 "list with a read token" --server "$auth" --token-file "$work/read.token" list
run 0 "store with a write token (--token-file)" --server "$auth" --token-file "$work/write.token" \
    store "written with a token" --json
id=$("$mnemo" --server "$auth" --token-file "$work/write.token" --json store "written with a token" |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["memory"]["id"])' 2>/dev/null || true)
run_env 0 "get with MNEMO_TOKEN" MNEMO_TOKEN="$write_token" -- --server "$auth" get "$id"
has out "written with a token" "MNEMO_TOKEN: get shows the memory"
run_env 0 "store with MNEMO_TOKEN_FILE" MNEMO_TOKEN_FILE="$work/write.token" -- --server "$auth" \
    store "from the token file variable"
run_env 0 "--token-file wins over MNEMO_TOKEN" MNEMO_TOKEN="$read_token" -- --server "$auth" \
    --token-file "$work/write.token" store "the flag wins"
run_env 2 "MNEMO_TOKEN and MNEMO_TOKEN_FILE both set" MNEMO_TOKEN="$write_token" \
    MNEMO_TOKEN_FILE="$work/write.token" -- --server "$auth" store "ambiguous"
printf 'not-a-known-token\n' >"$work/unknown.token"
run 1 "an unknown token" --server "$auth" --token-file "$work/unknown.token" store "unknown"
has err "mnemo: UNAUTHENTICATED:" "unknown token: UNAUTHENTICATED"
has err "hint: the server does not know the token from --token-file $work/unknown.token" \
    "unknown token: the hint names its file"
run 2 "--token on the command line is refused" --server "$auth" --token "$write_token" store "x"
has err "use --token-file FILE" "--token: says what to use instead"
run_env 2 "MNEMO_TOKEN with a space" MNEMO_TOKEN="$write_token x" -- --server "$auth" store "x"
run 2 "--token-file that does not exist" --server "$auth" --token-file "$work/nope" store "x"
# Streams send the token too: WatchSync with no token is refused, with a
# read token it gets past authorization (NOT_FOUND: nothing syncs);
# SyncRepository wants admin.
run 1 "watch without a token" --server "$auth" watch nothing
has err UNAUTHENTICATED "watch without a token: UNAUTHENTICATED"
run 1 "watch with a read token" --server "$auth" --token-file "$work/read.token" watch nothing
has err NOT_FOUND "watch with a read token: past authorization (NOT_FOUND)"
mkdir -p "$work/repo"
echo "int main(void) { return 0; }" >"$work/repo/main.c"
run 1 "sync with a write token" --server "$auth" --token-file "$work/write.token" sync "$work/repo"
has err "hint: this call needs role admin" "sync with a write token: the hint names admin"
stop_mnemod auth

# ---- tokens over TLS ---------------------------------------------------------
start_mnemod tls_auth --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" \
    --auth-tokens "$work/tokens"
run 0 "TLS + write token stores" --server "$addr" --tls-ca "$certs/ca.pem" \
    --token-file "$work/write.token" store "over TLS with a token"
run 1 "TLS + read token on store" --server "$addr" --tls-ca "$certs/ca.pem" \
    --token-file "$work/read.token" store "over TLS, read only"
has err PERMISSION_DENIED "TLS + read token: PERMISSION_DENIED"
run_env 1 "TLS without a token" MNEMO_TLS_CA="$certs/ca.pem" -- --server "$addr" list
has err UNAUTHENTICATED "TLS without a token: UNAUTHENTICATED"
stop_mnemod tls_auth

# ---- no secret anywhere ------------------------------------------------------
for name in read write admin; do
    token=$(head -n 1 "$work/$name.token")
    if grep -qF -- "$token" "$work/all-output"; then
        fail "the $name token appears in the CLI's output"
    else
        ok "the $name token appears in no output of the CLI"
    fi
    if grep -qF -- "$token" "$work"/mnemod-*.log; then
        fail "the $name token appears in a mnemod log"
    else
        ok "the $name token appears in no mnemod log"
    fi
done
if grep -qF -- "$new_token" "$work/all-output" "$work"/mnemod-*.log; then
    fail "a printed token appears elsewhere"
else
    ok "the token printed by 'token new' appears nowhere else"
fi

echo "cli_security: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
