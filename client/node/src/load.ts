// load.ts - loads mnemo's .proto files (copied into the package's proto/ by
// scripts/build.js) with @grpc/proto-loader, once per process.
//
// DESIGN: the options here and the flags build.js passes to
// proto-loader-gen-types must agree, because the generated types describe
// the objects these options produce: camelCase field names, int64 as JS
// numbers (counts and millisecond times stay far below 2^53), enums as their
// names, every field present with its default, oneofs named.
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as MemoryProto } from './generated/memory';
import type { ProtoGrpcType as RepositoryProto } from './generated/repository';
import type { ProtoGrpcType as HealthProto } from './generated/health';

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Where the package keeps its .proto files (for tools that want them). */
export const PROTO_DIR = path.resolve(__dirname, '..', 'proto');

export type Protos = MemoryProto & RepositoryProto & HealthProto;

let cached: Protos | undefined;

/** The loaded services and messages: mnemo.v1.* and grpc.health.v1.*. */
export function loadProtos(): Protos {
  if (!cached) {
    const def = protoLoader.loadSync(
      ['mnemo/v1/memory.proto', 'mnemo/v1/repository.proto', 'grpc/health/v1/health.proto'],
      { ...LOADER_OPTIONS, includeDirs: [PROTO_DIR] });
    cached = grpc.loadPackageDefinition(def) as unknown as Protos;
  }
  return cached;
}
