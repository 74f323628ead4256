#!/usr/bin/env bash
# build_node.sh - the ctest client.node_build: builds client/node the way its
# README tells users to (npm ci, which runs the build), in a copy under the
# build tree so the source tree stays clean and worktrees never share a
# node_modules.
#
# Usage: build_node.sh CLIENT_NODE_SRC OUT_DIR PROTO_DIR
set -euo pipefail
src=$1
out=$2
proto=$3

rm -rf "$out"
mkdir -p "$out"
# What a user's checkout holds: no node_modules or build output.
tar -C "$src" --exclude=./node_modules --exclude=./dist --exclude=./proto \
    --exclude=./src/generated -cf - . | tar -C "$out" -xf -
cd "$out"
# Exact versions from package-lock.json; `prepare` generates the types
# from PROTO_DIR and compiles them.
MNEMO_PROTO_DIR=$proto npm ci --no-audit --no-fund
node --check example/example.js
node -e "const m = require('./'); if (typeof m.connect !== 'function') process.exit(1);"
echo "client.node_build: built $out"
