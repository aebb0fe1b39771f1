// Maintenance.HashKV over gRPC, with etcd3's own copy of etcd's rpc.proto. (etcd3 1.1.2's
// maintenance.hashKV() calls a method name grpc-js does not define, and etcdctl's `endpoint hashkv` adds
// nothing here but a process per call.)
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { repoRoot } from '../../support';

interface HashKVResponse {
  header: { revision: string };
  hash: number;
  compact_revision: string;
}

type HashKVCall = (
  request: { revision: string },
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: HashKVResponse) => void,
) => void;

interface MaintenanceClient extends grpc.Client {
  HashKV: HashKVCall;
}

type MaintenanceConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
) => MaintenanceClient;

let maintenance: MaintenanceConstructor | undefined;

function maintenanceService(): MaintenanceConstructor {
  if (maintenance === undefined) {
    const definition = loadSync(join(repoRoot, 'node_modules', 'etcd3', 'proto', 'rpc.proto'), {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      etcdserverpb: { Maintenance: MaintenanceConstructor };
    };
    maintenance = loaded.etcdserverpb.Maintenance;
  }
  return maintenance;
}

export interface HashKV {
  hash: string;
  compactRevision: string;
  /** The member's current revision (header). */
  revision: string;
}

/** HashKV of the member at `clientUrl` over keys up to `revision`. */
export async function hashKV(clientUrl: string, revision: bigint, timeoutMs = 10_000): Promise<HashKV> {
  const Maintenance = maintenanceService();
  const client = new Maintenance(clientUrl.replace(/^https?:\/\//, ''), grpc.credentials.createInsecure());
  try {
    const response = await new Promise<HashKVResponse>((resolve, reject) => {
      client.HashKV({ revision: revision.toString() }, { deadline: Date.now() + timeoutMs }, (error, res) => {
        if (error !== null || res === undefined) reject(error ?? new Error('HashKV: empty response'));
        else resolve(res);
      });
    });
    return {
      hash: String(response.hash),
      compactRevision: response.compact_revision,
      revision: response.header.revision,
    };
  } finally {
    client.close();
  }
}
