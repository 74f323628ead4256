#!/usr/bin/env bash
# build.sh - generates mnemo.dev/client/go/mnemov1 from proto/ and builds the
# client and its example with Debian's Go toolchain and Debian's Go packages,
# in GOPATH mode: no module proxy, no network.
#
#   bash client/go/build.sh [--out DIR] [--proto-dir DIR]
#
# DESIGN: OUT (default client/go/build, ignored by git) becomes a GOPATH
# whose src/mnemo.dev/client/go is a copy of this directory plus the
# generated mnemov1/ (nothing generated is committed, and the source tree is
# never written but for OUT). Debian's packages are the second GOPATH entry
# (/usr/share/gocode). The example lands in OUT/bin/mnemo-example, and the
# last line printed is the environment that builds programs against it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$here/build
proto_dir=$(cd "$here/../.." && pwd)/proto
while [[ $# -gt 0 ]]; do
    case $1 in
    --out) out=$2; shift 2 ;;
    --proto-dir) proto_dir=$2; shift 2 ;;
    *) echo "usage: build.sh [--out DIR] [--proto-dir DIR]" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
gocode=/usr/share/gocode

need() { # need TOOL-OR-PATH DEBIAN-PACKAGE
    if ! command -v "$1" >/dev/null 2>&1 && [[ ! -e $1 ]]; then
        echo "build.sh: $1 missing: apt-get install $2 (or bash cmake/install-deps.sh)" >&2
        exit 1
    fi
}
need go golang-go
need protoc protobuf-compiler
need protoc-gen-go protoc-gen-go
need protoc-gen-go-grpc protoc-gen-go-grpc
need $gocode/src/google.golang.org/grpc golang-google-grpc-dev
need $gocode/src/google.golang.org/protobuf golang-google-protobuf-dev
# grpc-go 1.33's codec goes through github.com/golang/protobuf; the 1.3
# package cannot read current protoc-gen-go stubs (it panics "protobuf tag
# not enough fields"), 1.5 wraps google.golang.org/protobuf and can.
need $gocode/src/github.com/golang/protobuf/proto/wrappers.go golang-github-golang-protobuf-1-5-dev

pkg=$out/gopath/src/mnemo.dev/client/go
rm -rf "$pkg"
mkdir -p "$pkg"
cp "$here"/go.mod "$here"/*.go "$pkg"/
cp -r "$here"/example "$pkg"/
protoc -I "$proto_dir" \
    --go_out="$pkg" --go_opt=module=mnemo.dev/client/go \
    --go-grpc_out="$pkg" --go-grpc_opt=module=mnemo.dev/client/go \
    "$proto_dir"/mnemo/v1/*.proto

export GO111MODULE=off GOPATH=$out/gopath:$gocode GOPROXY=off GOFLAGS=
go vet mnemo.dev/client/go/...
go build -o "$out/bin/mnemo-example" mnemo.dev/client/go/example
echo "build.sh: built $out/bin/mnemo-example; build your own programs with:"
echo "export GO111MODULE=off GOPATH=$out/gopath:$gocode"
