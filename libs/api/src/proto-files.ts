import { resolve } from 'node:path';

/**
 * Absolute path of libs/api/proto. This file compiles to dist/proto-files.js and is run from
 * src/proto-files.ts under vitest; both sit one level below the package root, next to proto/.
 */
export const PROTO_DIR: string = resolve(__dirname, '..', 'proto');

/** The .proto files Cairn serves or stores, relative to PROTO_DIR (their imports resolve from there too). */
export const PROTO_FILES: readonly string[] = [
  'etcdserverpb/rpc.proto',
  'v3lockpb/v3lock.proto',
  'v3electionpb/v3election.proto',
  'grpc/health/v1/health.proto',
  'cairn/internal/v1/internal.proto',
  'cairn/registry/v1/registry.proto',
  'cairn/config/v1/config.proto',
];
