#!/usr/bin/env bash
# build_go.sh - the ctest client.go_build: builds client/go with its own
# build.sh (GOPATH mode over Debian's Go packages), then the Go contract
# runner against it.
#
# Usage: build_go.sh SOURCE_ROOT OUT_DIR
set -euo pipefail
root=$1
out=$2

bash "$root/client/go/build.sh" --out "$out" --proto-dir "$root/proto"
export GO111MODULE=off GOPATH=$out/gopath:/usr/share/gocode GOPROXY=off GOFLAGS=
# go needs a cache directory; ctest may run without HOME.
[[ -n ${HOME:-} || -n ${GOCACHE:-} ]] || export GOCACHE=$out/gocache
# GOPATH mode takes a directory outside GOPATH only as a relative path.
cd "$root/tests/contract/runner_go"
go vet .
go build -o "$out/bin/runner_go" .
echo "client.go_build: built $out/bin/runner_go"
