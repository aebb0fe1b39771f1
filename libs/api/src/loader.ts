import { accessSync, constants } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Root, Type } from 'protobufjs';
import { PROTO_DIR, PROTO_FILES } from './proto-files';
import type { EtcdGrpcType } from './types';

/**
 * How a decoded message looks in JS, for gRPC handlers and for everything built on this lib:
 * - keepCase: field names stay as etcd spells them (`cluster_id`, `TTL`, `peerURLs`), which is also what
 *   the JSON gateway emits; one spelling everywhere.
 * - longs: String: int64/uint64 (revisions, lease IDs, member IDs) arrive as decimal strings and are never
 *   rounded; callers turn them into `number` (revisions, safe below 2^53) or `bigint` (IDs) themselves.
 * - enums: Number: compare against numeric constants, no string matching on the hot path.
 * - bytes: Buffer: keys and values stay binary.
 * - defaults: true: every scalar is present (0, '', false, empty Buffer); absent messages are null.
 * - oneofs: true: a oneof's name holds the name of the member that is set (`request: 'put'`), so a switch
 *   on it is exhaustive.
 */
export const LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
} as const;

/** Same conversion as LOADER_OPTIONS, in the form protobufjs' Type.toObject takes. */
export const TO_OBJECT_OPTIONS = {
  longs: String,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
} as const;

let packageDefinition: protoLoader.PackageDefinition | undefined;
let grpcObject: grpc.GrpcObject | undefined;
let root: Root | undefined;

/** proto-loader's package definition of every Cairn proto (e.g. for Nest's gRPC transport or addService). */
export function loadEtcdPackageDefinition(): protoLoader.PackageDefinition {
  packageDefinition ??= protoLoader.loadSync([...PROTO_FILES], {
    ...LOADER_OPTIONS,
    includeDirs: [PROTO_DIR],
  });
  return packageDefinition;
}

/**
 * The gRPC object of every Cairn proto: `pkg.etcdserverpb.KV.service`, `pkg.v3lockpb.Lock.service`,
 * `pkg.grpc.health.v1.Health.service`... Loaded once and cached.
 */
export function loadEtcdPackage(): grpc.GrpcObject {
  grpcObject ??= grpc.loadPackageDefinition(loadEtcdPackageDefinition());
  return grpcObject;
}

/** A protobufjs Root over the same files, with the same field names (keepCase), resolved and cached. */
export function etcdRoot(): Root {
  if (root === undefined) {
    const loaded = new Root();
    const fallbackResolve = loaded.resolvePath.bind(loaded);
    loaded.resolvePath = (origin: string, target: string): string | null => {
      if (isAbsolute(target)) return target;
      const inProtoDir = join(PROTO_DIR, target);
      try {
        accessSync(inProtoDir, constants.R_OK);
        return inProtoDir;
      } catch {
        return fallbackResolve(origin, target);
      }
    };
    loaded.loadSync([...PROTO_FILES], { keepCase: true });
    loaded.resolveAll();
    root = loaded;
  }
  return root;
}

/** The message type with this fully-qualified name (e.g. 'etcdserverpb.PutRequest'); throws if unknown. */
export function messageType(fullName: string): Type {
  return etcdRoot().lookupType(fullName);
}

/** loadEtcdPackage() with its generated types: `loadEtcdServices().etcdserverpb.KV.service`. */
export function loadEtcdServices(): EtcdGrpcType {
  // The generated ProtoGrpcType describes exactly what loadPackageDefinition builds from these files.
  return loadEtcdPackage() as unknown as EtcdGrpcType;
}
