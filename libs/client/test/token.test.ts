// The SDK sends an etcd auth token as gRPC metadata `token` (what etcd's clients send and Cairn's pipeline
// reads) on unary calls and on streams, and a renewed token from the next call on.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEtcdPackage } from '@cairn/api';
import { EtcdClient } from '../src';

const servers: grpc.Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.forceShutdown();
});

/** A KV service that records the `token` of every Range and answers an empty result. */
async function recordingServer(seen: (string | undefined)[]): Promise<string> {
  const server = new grpc.Server();
  servers.push(server);
  const kv = (loadEtcdPackage() as unknown as { etcdserverpb: { KV: grpc.ServiceClientConstructor } })
    .etcdserverpb.KV;
  server.addService(kv.service, {
    Range: (call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => {
      seen.push(call.metadata.get('token')[0]?.toString());
      callback(null, { header: { revision: '1' }, kvs: [], count: '0', more: false });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  return `http://127.0.0.1:${port}`;
}

describe('auth token', () => {
  it('travels as metadata `token` on every call; setToken replaces it; none is sent without one', async () => {
    const seen: (string | undefined)[] = [];
    const endpoint = await recordingServer(seen);
    const client = new EtcdClient({ endpoints: endpoint, token: 'abc.1' });
    try {
      await client.get('k');
      client.setToken('def.2');
      await client.get('k');
      client.setToken(undefined);
      await client.get('k');
    } finally {
      client.close();
    }
    expect(seen).toEqual(['abc.1', 'def.2', undefined]);
  });
});
