import * as grpc from '@grpc/grpc-js';
import { Etcd3, EtcdLeaseInvalidError, EtcdPermissionDeniedError } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdError, loadEtcdServices, toGrpcStatus, type KVHandlers, type ResponseHeader } from '@cairn/api';

// A toy KV served from our loaded definitions and typed handlers, called by the real etcd3 npm client:
// proves the loader, the generated handler types and the error mapping work end to end over gRPC.
describe('serving our definitions to the etcd3 client', () => {
  const store = new Map<string, { value: Buffer; modRevision: number }>();
  let revision = 1;
  const header = (): ResponseHeader => ({ cluster_id: '1', member_id: '2', revision, raft_term: '3' });
  const server = new grpc.Server();
  let client: Etcd3;

  const kv: KVHandlers = {
    Put(call, callback) {
      if (call.request.key.length === 0) return callback(toGrpcStatus(etcdError('empty-key')));
      if (call.request.lease !== '0') return callback(toGrpcStatus(etcdError('lease-not-found')));
      revision += 1;
      store.set(call.request.key.toString('binary'), { value: call.request.value, modRevision: revision });
      callback(null, { header: header() });
    },
    Range(call, callback) {
      const found = store.get(call.request.key.toString('binary'));
      const kvs = found
        ? [
            {
              key: call.request.key,
              value: found.value,
              create_revision: found.modRevision,
              mod_revision: found.modRevision,
              version: 1,
            },
          ]
        : [];
      callback(null, { header: header(), kvs, count: kvs.length });
    },
    DeleteRange(_call, callback) {
      callback(toGrpcStatus(etcdError('permission-denied')));
    },
    Txn(_call, callback) {
      callback(toGrpcStatus(new Error('not in this toy')));
    },
    Compact(_call, callback) {
      callback(toGrpcStatus(etcdError('compacted')));
    },
  };

  beforeAll(async () => {
    server.addService(loadEtcdServices().etcdserverpb.KV.service, kv);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
    client = new Etcd3({ hosts: `127.0.0.1:${port}` });
  });

  afterAll(async () => {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  it('puts and gets binary-safe values', async () => {
    await client.put('foo').value('bar');
    expect(await client.get('foo').string()).toBe('bar');
    await client.put('bin').value(Buffer.from([0, 255, 7]));
    expect([...((await client.get('bin').buffer()) ?? [])]).toEqual([0, 255, 7]);
    expect(await client.get('missing').string()).toBeNull();
  });

  it('delivers etcd error strings the client maps to its typed errors', async () => {
    // (Unavailable errors are left out: they trip the client's circuit breaker for the host.)
    await expect(client.put('').value('x')).rejects.toThrow('etcdserver: key is not provided');
    await expect(client.put('k').value('v').lease('7')).rejects.toBeInstanceOf(EtcdLeaseInvalidError);
    await expect(client.delete().key('foo')).rejects.toBeInstanceOf(EtcdPermissionDeniedError);
  });
});
