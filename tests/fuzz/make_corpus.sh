#!/usr/bin/env bash
# make_corpus.sh - writes the seed corpora of tests/fuzz/corpus/<target>/.
# Run by hand when an input format changes (a request message, the method
# tables, the page-token format); the files it writes are committed, and
# the suite never runs this. Offline: requests are encoded with
# protoc --encode, page tokens signed with openssl (HMAC-SHA256 under the
# fuzz target's fixed key, bytes 0..31). Files it does not write (inputs
# a fuzzer once found, kept as regression seeds) are left alone.
#
# Usage: bash tests/fuzz/make_corpus.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$here/corpus
grpc_proto=/usr/share/grpc-proto

# byte N: one byte of value N (0..255) on stdout.
byte() { printf "\\x$(printf %02x "$1")"; }

# hex: stdin as lowercase hex, one line.
hex() { od -An -tx1 -v | tr -d ' \n'; }

# ---- fuzz_request: method row byte (bit 7: tight limits) | payload ---------
# Rows of mnemo_rpc_tables, in order (server/rpc_util.c): MemoryService,
# Health, RepositoryService, ServerReflection v1 and v1alpha.
declare -A row=(
    [StoreMemory]=0 [GetMemory]=1 [DeleteMemory]=2 [ListMemories]=3 [RetrieveMemory]=4
    [SearchByTag]=5 [Check]=6 [Watch]=7 [SyncRepository]=8 [WatchSync]=9 [GetSyncStatus]=10
    [CancelSync]=11 [ListRepositories]=12 [DeleteRepository]=13 [SearchCode]=14
    [ReflectionV1]=15 [ReflectionV1alpha]=16
)

# request FILE METHOD TYPE PROTO TEXT [TIGHT]: encodes TEXT (text format).
request() {
    local file=$1 method=$2 type=$3 proto=$4 text=$5 tight=${6:-0}
    local r=${row[$method]}
    ((tight)) && r=$((r | 128))
    {
        byte "$r"
        protoc -I"$root/proto" -I"$grpc_proto" --encode="$type" "$proto" <<<"$text"
    } >"$out/fuzz_request/$file"
}
mem() { request "$1" "$2" "mnemo.v1.$3" mnemo/v1/memory.proto "$4" "${5:-0}"; }
repo() { request "$1" "$2" "mnemo.v1.$3" mnemo/v1/repository.proto "$4" "${5:-0}"; }

mkdir -p "$out/fuzz_request"
id=$(printf 'a%.0s' {1..64})
mem store_memory StoreMemory StoreMemoryRequest \
    'content: "remember the milk" tags: "todo" tags: "home"
     metadata { key: "source" value: "cli" } memory_type: "note"'
mem store_memory_tight StoreMemory StoreMemoryRequest \
    'content: "milk" tags: "a" tags: "b" tags: "c" metadata { key: "k" value: "v" }' 1
mem get_memory GetMemory GetMemoryRequest "id: \"$id\""
mem delete_memory DeleteMemory DeleteMemoryRequest "id: \"$id\""
mem list_memories ListMemories ListMemoriesRequest \
    'page_size: 20 page_token: "02616263" tags: "todo"'
mem retrieve_memory RetrieveMemory RetrieveMemoryRequest \
    'query: "milk" limit: 5 tags: "home" min_score: 0.5'
mem search_by_tag_tight SearchByTag SearchByTagRequest 'tags: "todo" match_all: true limit: 6' 1
request health_check Check grpc.health.v1.HealthCheckRequest grpc/health/v1/health.proto \
    'service: "mnemo.v1.MemoryService"'
byte "${row[Watch]}" >"$out/fuzz_request/health_watch_empty"
repo sync_repository SyncRepository SyncRepositoryRequest \
    'repository_path: "/srv/repo" repository_name: "repo" background: true batch_size: 50
     dry_run: true'
repo watch_sync WatchSync WatchSyncRequest 'repository_name: "repo"'
repo get_sync_status GetSyncStatus GetSyncStatusRequest 'repository_name: "a/b"'
repo cancel_sync CancelSync CancelSyncRequest 'repository_name: "repo"'
repo list_repositories ListRepositories ListRepositoriesRequest 'page_size: -1'
repo delete_repository DeleteRepository DeleteRepositoryRequest 'repository_name: ""'
repo search_code SearchCode SearchCodeRequest \
    'query: "parse http" repository_name: "repo" path_prefix: "src/" limit: 20'
request reflection_v1 ReflectionV1 grpc.reflection.v1.ServerReflectionRequest \
    grpc/reflection/v1/reflection.proto 'host: "localhost" list_services: ""'
request reflection_v1alpha ReflectionV1alpha grpc.reflection.v1alpha.ServerReflectionRequest \
    grpc/reflection/v1alpha/reflection.proto \
    'file_containing_extension { containing_type: "mnemo.v1.Memory" extension_number: 7 }'
# Refused by the codec: a NUL in content; not valid UTF-8 in a tag.
{ byte "${row[StoreMemory]}"; printf '\x0a\x03a\x00b'; } >"$out/fuzz_request/store_memory_nul"
{ byte "${row[StoreMemory]}"; printf '\x0a\x01x\x12\x02\xc3\x28'; } \
    >"$out/fuzz_request/store_memory_bad_utf8_tag"

# ---- fuzz_pagetoken: flags (bit 0: repos) | binding length | binding | token
key=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f

# token PURPOSE POS BINDING: the hex token (binding and pos: printf formats).
token() {
    local purpose=$1 pos=$2 binding=$3 n
    n=$(printf "$pos" | wc -c)
    local mac
    mac=$({ printf '%s\0\x02' "$purpose"; byte "$n"; printf "$pos"; printf "$binding"; } |
        openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | head -c 16 | hex)
    printf '02%s%s' "$(printf "$pos" | hex)" "$mac"
}

# pt FILE FLAGS POS BINDING
pt() {
    local file=$1 flags=$2 pos=$3 binding=$4 purpose=mnemo.memories.list
    ((flags & 1)) && purpose=mnemo.repos.list
    {
        byte "$flags"
        byte "$(printf "$binding" | wc -c)"
        printf "$binding"
        token "$purpose" "$pos" "$binding"
    } >"$out/fuzz_pagetoken/$file"
}

mkdir -p "$out/fuzz_pagetoken"
pt memories 0 'm:0123456789abcdef' ''
pt memories_tags 0 'next' 'home\0todo'
pt repos 1 'my-repo' ''
pt repos_longest 1 "$(printf 'r%.0s' {1..128})" ''
pt repos_binary 1 '\x00\xff\x02' ''
{ byte 0; byte 0; printf '01%s' "$(printf 'ab%.0s' {1..20})"; } >"$out/fuzz_pagetoken/version1"
{ byte 1; byte 0; printf 'not hex at all'; } >"$out/fuzz_pagetoken/garbage"

# ---- fuzz_ignore: flags (bit 0: all paths are directories) | rule sets and
# paths, separated by 0xFF; bases "", "src", "src/lib", ...
# ig FILE FLAGS SECTION...: the last section is the paths.
ig() {
    local file=$1 flags=$2
    shift 2
    {
        byte "$flags"
        local first=1
        for s in "$@"; do
            ((first)) || printf '\xff'
            first=0
            printf "$s"
        done
    } >"$out/fuzz_ignore/$file"
}

mkdir -p "$out/fuzz_ignore"
ig basic 0 '*.o\n/build/\n!keep.o\n# comment\ndocs/**/*.md\n' \
    'main.o\nkeep.o\nbuild/\nsrc/build\ndocs/a/b/c.md\nREADME.md'
ig nested 0 '*.log\n' '/gen/\n!important.log\n' '**/tmp\n[abc]?.c\n' \
    'src/gen/\nsrc/lib/x/tmp/\nsrc/important.log\nsrc/lib/a1.c\nsrc/lib/d1.c'
ig escapes 1 '\\#notcomment\n\\!bang\ntrailing\\ \\ \nfoo[[:digit:]]\n[!a-c]x\n[]]\n**\n' \
    '#notcomment\n!bang\ntrailing  \nfoo7\ndx\n]'
ig stars 0 'a*a*a*a*a*a*a*a*a*b\n**/**/**/x\n*/\n' \
    "$(printf 'a%.0s' {1..40})\nq/w/e/x\ndir/"
ig crlf_bom 0 '\xef\xbb\xbf*.tmp\r\n!/keep.tmp\r\n' 'a.tmp\nkeep.tmp\nsub/keep.tmp'

# ---- fuzz_tokenizer: the text -----------------------------------------------
mkdir -p "$out/fuzz_tokenizer"
printf 'parseHTTPRequest snake_case_name HTTP2Server base64Encode __init__ x86_64' \
    >"$out/fuzz_tokenizer/identifiers"
printf 'naïve café Ünïcödé_ident 日本語のテキスト emoji😀word' >"$out/fuzz_tokenizer/unicode"
printf '%s_%s' "$(printf 'Long%.0s' {1..20})" "$(printf 'é%.0s' {1..40})" \
    >"$out/fuzz_tokenizer/long_identifier"
printf 'int main(void) { return strcmp(argv[1], "--help") == 0; }\n' \
    >"$out/fuzz_tokenizer/code"

# ---- fuzz_chunker: target_lines | max_lines | max_bytes | text --------------
mkdir -p "$out/fuzz_chunker"
{ byte 4; byte 8; byte 0; sed -n '1,80p' "$root/server/chunker.c"; } >"$out/fuzz_chunker/c_source"
{
    byte 3; byte 0; byte 0
    printf 'def a\n  1\nend\n\nclass B\n  x\nend.\n(f)\n]\n\n\nz\n'
} >"$out/fuzz_chunker/blocks"
{ byte 0; byte 0; byte 9; printf 'var a=1;%.0s' {1..30}; printf 'ü€😀\n'; } \
    >"$out/fuzz_chunker/long_line"
{ byte 2; byte 3; byte 5; printf 'a\r\nbb\r\nccc\r\n\r\n}\r\n'; } >"$out/fuzz_chunker/crlf"
{ byte 0; byte 0; byte 1; printf 'x\xf0\x9f\x98\x80y\xe2\x82'; } >"$out/fuzz_chunker/utf8_tiny"

echo "make_corpus: wrote $(find "$out" -type f | wc -l) files under $out"
