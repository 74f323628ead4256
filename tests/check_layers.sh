#!/usr/bin/env bash
# check_layers.sh - the layer rule the build enforces (ctest: unit.layers).
#
# The domain (server/: storage, memories, code index, sync) knows nothing of
# gRPC or of the generated protobuf-c code; only the rpc layer, the codec and
# the client do. Two checks, each of which fails on its own:
#   1. no source or header of the mnemo_domain target includes a gRPC header
#      (<grpc/...>, "grpc/..."), a generated one (*.pb-c.h), the codec
#      (mnemo/codec.h) or an rpc-layer header (rpc.h, call.h, server.h,
#      config.h);
#   2. a binary linked against mnemo_domain alone (its unit tests) needs no
#      gRPC or protobuf-c shared library.
#
# Usage: check_layers.sh SOURCES_FILE SERVER_DIR BINARY...
#   SOURCES_FILE  one source path per line (CMake writes mnemo_domain's)
set -euo pipefail

sources_file=$1
server_dir=$2
shift 2

forbidden='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](grpc/|[^">]*\.pb-c\.h|mnemo/codec\.h|rpc\.h|call\.h|server\.h|config\.h)'
failed=0

files=()
while IFS= read -r src; do
    [[ -n "$src" ]] || continue
    [[ "$src" = /* ]] || src="$server_dir/$src"
    files+=("$src")
    header="${src%.c}.h"
    [[ -f "$header" ]] && files+=("$header")
done <"$sources_file"

if [[ ${#files[@]} -lt 10 ]]; then
    echo "layers: only ${#files[@]} domain files listed in $sources_file" >&2
    exit 1
fi

for f in "${files[@]}"; do
    if hits=$(grep -nE "$forbidden" "$f"); then
        while IFS= read -r line; do
            echo "layers: $f:$line: the domain must not include this" >&2
        done <<<"$hits"
        failed=1
    fi
done
echo "layers: ${#files[@]} domain files checked for gRPC, generated and rpc-layer includes"

for bin in "$@"; do
    if libs=$(ldd "$bin" | grep -E 'libgrpc|libgpr|libprotobuf-c'); then
        echo "layers: $bin (domain only) is linked against: $libs" >&2
        failed=1
    else
        echo "layers: $(basename "$bin") needs no gRPC or protobuf-c library"
    fi
done

if [[ $failed -ne 0 ]]; then
    echo "layers: FAILED"
    exit 1
fi
echo "layers: OK"
