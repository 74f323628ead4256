#!/usr/bin/env bash
# install-deps.sh - installs every Debian 12 package that building, running
# and testing mnemo needs. Idempotent: when all of them are already installed
# it returns at once without touching apt (so tests/run.sh can call it on
# every run), but it must also work on a clean machine, which is what CI is.
#
# Usage: bash cmake/install-deps.sh    (as root, or as a user with sudo)
set -euo pipefail

# Grouped by who needs them.
packages=(
    # build
    build-essential cmake pkg-config
    libgrpc-dev grpc-proto
    protobuf-c-compiler libprotobuf-c-dev
    # descriptor.proto and protoc: the descriptor set embedded for reflection
    libprotobuf-dev protobuf-compiler
    libleveldb-dev libssl-dev
    # --metrics-listen: the HTTP server of GET /metrics (server/httpd.c)
    libmicrohttpd-dev
    # unit and integration tests
    libcunit1-dev procps
    # the C contract runner reads tests/contract/cases.json
    libjansson-dev
    # the TLS tests make their certificates with the openssl CLI
    openssl
    python3 python3-grpcio python3-grpc-tools
    # client/python: its build generates with protoc and grpc_python_plugin
    python3-protobuf protobuf-compiler-grpc
    # promtool checks the /metrics output (tests/integration/test_python_metrics.py)
    prometheus
    # the proxy tests run their own nginx and HAProxy (never the system
    # service) from deploy/; the deploy-files test parses deploy/'s YAML
    nginx haproxy python3-yaml
    # format check in tests/run.sh
    clang-format
    # the fuzz step of tests/run.sh: clang with libFuzzer (tests/fuzz)
    clang libclang-rt-14-dev
    # client/node: Node 18 and npm 9 (the npm packages come from its
    # package-lock.json through `npm ci`, not from apt)
    nodejs
    # client/go, built offline in GOPATH mode over /usr/share/gocode:
    # golang/protobuf 1.5, not the 1.3 that golang-google-grpc-dev would
    # otherwise pull, reads the stubs of the current protoc-gen-go
    golang-go protoc-gen-go protoc-gen-go-grpc golang-google-grpc-dev
    golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev
)

# Debian's nodejs ships npm separately (client/node, and buf for
# tests/buf/check.sh, come from npm); NodeSource's nodejs bundles it (and
# conflicts with Debian's npm), so ask for npm only when there is none.
if ! command -v npm >/dev/null 2>&1; then
    packages+=(npm)
fi

# dpkg-query prints "install ok installed" only for a fully installed package;
# anything else (absent, half-configured, removed) means apt has work to do.
missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: all ${#packages[@]} packages already installed"
    exit 0
fi

# apt needs root; fall back to sudo for a developer's own account.
as_root=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-deps: not root and no sudo; install as root: ${missing[*]}" >&2
        exit 1
    fi
    as_root=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
# Noninteractive so that CI (no stdin) never waits on a debconf prompt.
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update
# nginx, haproxy and prometheus are here for the tests, which run their own
# instances on ephemeral ports (or only promtool): keep their packages from
# starting the system services (nginx's would take port 80, prometheus's
# 9090, and an install fails where its port is taken). A policy-rc.d that
# refuses every start, for the install only, unless the machine already
# has one (then its policy stands).
policy=/usr/sbin/policy-rc.d
own_policy=false
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# install-deps.sh: no service starts during its install\nexit 101\n' |
        "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 755 "$policy"
    own_policy=true
    trap '"${as_root[@]}" rm -f "$policy"' EXIT
fi
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${packages[@]}"
if $own_policy; then
    "${as_root[@]}" rm -f "$policy"
    trap - EXIT
fi
echo "install-deps: done"
