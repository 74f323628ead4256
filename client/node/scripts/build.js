#!/usr/bin/env node
// build.js - `npm run build` (and `prepare`, so `npm ci` builds too):
// copies the .proto files the client loads at run time into ./proto,
// generates TypeScript types from them into src/generated with
// proto-loader-gen-types, and compiles src/ into dist/ with tsc.
//
// DESIGN: nothing generated is committed. The .proto files come from the
// repository's proto/ (MNEMO_PROTO_DIR overrides) and health.proto from
// Debian's grpc-proto package (GRPC_PROTO_DIR overrides). A copy of the
// package outside the repository (a packed tarball) already holds ./proto
// and dist/, so the build is skipped there when the sources are absent.
'use strict';

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const pkgDir = path.resolve(__dirname, '..');
const protoOut = path.join(pkgDir, 'proto');
const genOut = path.join(pkgDir, 'src', 'generated');
const mnemoProtoDir = process.env.MNEMO_PROTO_DIR || path.resolve(pkgDir, '..', '..', 'proto');
const grpcProtoDir = process.env.GRPC_PROTO_DIR || '/usr/share/grpc-proto';

// The proto-loader options the wrapper loads with (src/load.ts); the
// generated types describe exactly those objects.
const GEN_FLAGS = ['--longs=Number', '--enums=String', '--defaults', '--oneofs',
  '--includeComments', '--grpcLib=@grpc/grpc-js'];
const PROTOS = ['mnemo/v1/memory.proto', 'mnemo/v1/repository.proto', 'grpc/health/v1/health.proto'];

function copyProto(fromDir, rel) {
  const src = path.join(fromDir, rel);
  if (!fs.existsSync(src)) {
    throw new Error(`build: ${src} is missing` +
      (fromDir === grpcProtoDir ? ' (apt-get install grpc-proto, or set GRPC_PROTO_DIR)' : ''));
  }
  const dst = path.join(protoOut, rel);
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.copyFileSync(src, dst);
}

function bin(name) {
  return path.join(pkgDir, 'node_modules', '.bin', name);
}

function main() {
  if (!fs.existsSync(path.join(pkgDir, 'src', 'index.ts'))) {
    return; // an installed tarball: dist/ and proto/ are shipped built
  }
  fs.rmSync(protoOut, { recursive: true, force: true });
  fs.rmSync(genOut, { recursive: true, force: true });
  for (const rel of PROTOS.slice(0, 2)) copyProto(mnemoProtoDir, rel);
  copyProto(grpcProtoDir, PROTOS[2]);
  execFileSync(bin('proto-loader-gen-types'),
    [...GEN_FLAGS, '-I', protoOut, '-O', genOut, ...PROTOS], { stdio: 'inherit' });
  fs.rmSync(path.join(pkgDir, 'dist'), { recursive: true, force: true });
  execFileSync(bin('tsc'), ['-p', pkgDir], { stdio: 'inherit' });
}

try {
  main();
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
