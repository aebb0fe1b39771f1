// --io-worker: the plaintext client URL served from an I/O worker thread (libs/edge io-worker/). The worker
// decides each connection's protocol and frames the KV calls of front connections; the calls themselves, every
// other gRPC stream and every HTTP/1.1 request cross to the main thread's pipeline and servers. Proved with real
// clients on one member: etcdctl (Go, a front connection), etcd3 (grpc-js: KV and Watch on one connection),
// plain HTTP/1.1 (the JSON gateway, /health, /metrics), raw grpc-js calls carrying tokens for the three answers
// of auth, and many calls at once (records cross in chunks).
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Member,
  cleanupAll,
  currentTarget,
  etcdctl,
  repoRoot,
  startMember,
  stopMember,
} from '../support';

interface PutAnswer {
  header: { revision: string };
}
type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: Res) => void,
) => void;
interface KvClient extends grpc.Client {
  Put: Unary<{ key: Buffer; value: Buffer }, PutAnswer>;
  Range: Unary<{ key: Buffer }, { kvs: Array<{ value: Buffer }> }>;
}
interface AuthClient extends grpc.Client {
  Authenticate: Unary<{ name: string; password: string }, { token: string }>;
}

function clients(address: string): { kv: KvClient; auth: AuthClient } {
  const definition = loadSync(join(repoRoot, 'node_modules', 'etcd3', 'proto', 'rpc.proto'), {
    keepCase: true,
    longs: String,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    etcdserverpb: Record<string, new (address: string, c: grpc.ChannelCredentials) => grpc.Client>;
  };
  const credentials = grpc.credentials.createInsecure();
  return {
    kv: new pkg.etcdserverpb['KV']!(address, credentials) as KvClient,
    auth: new pkg.etcdserverpb['Auth']!(address, credentials) as AuthClient,
  };
}

function call<Req, Res>(
  method: Unary<Req, Res>,
  self: grpc.Client,
  request: Req,
  token?: string,
): Promise<Res> {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set('token', token);
  return new Promise((resolve, reject) =>
    method.call(self, request, metadata, { deadline: Date.now() + 10_000 }, (err, res) =>
      err ? reject(err) : resolve(res!),
    ),
  );
}

describe.skipIf(currentTarget().kind === 'etcd')('the I/O worker (--io-worker)', () => {
  let member: Member;
  let client: Etcd3;

  beforeAll(async () => {
    member = await startMember({ extraFlags: ['--io-worker=true'] });
    client = new Etcd3({ hosts: member.clientUrl });
  }, 30_000);
  afterAll(async () => {
    client?.close();
    await cleanupAll();
  });

  it('serves etcdctl (Go) puts and gets through the worker', async () => {
    const endpoints = [member.clientUrl];
    expect((await etcdctl(['put', 'io-worker/ctl', 'from etcdctl'], { endpoints })).code).toBe(0);
    const got = await etcdctl(['get', 'io-worker/ctl', '--print-value-only'], { endpoints });
    expect(got.stdout.trim()).toBe('from etcdctl');
  });

  it('serves KV and Watch on one grpc-js connection, and many calls at once', async () => {
    await client.put('io-worker/w/first').value('opens the connection with a KV call');
    const seen: string[] = [];
    const watcher = await client.watch().prefix('io-worker/w/k').create();
    watcher.on('put', (kv) => seen.push(kv.key.toString()));
    const keys = Array.from({ length: 300 }, (_, i) => `io-worker/w/k${String(i).padStart(3, '0')}`);
    await Promise.all(keys.map((key) => client.put(key).value(`v-${key}`)));
    const values = await Promise.all(keys.map((key) => client.get(key).string()));
    expect(values).toEqual(keys.map((key) => `v-${key}`));
    const deadline = Date.now() + 10_000;
    while (seen.length < keys.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect([...seen].sort()).toEqual(keys);
    await watcher.cancel();
  }, 30_000);

  it('serves HTTP/1.1 through the worker: the JSON gateway, /health and /metrics counting its connections', async () => {
    const put = await fetch(`${member.clientUrl}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({ key: b64('io-worker/http'), value: b64('over http') }),
    });
    expect(put.status).toBe(200);
    const range = (await (
      await fetch(`${member.clientUrl}/v3/kv/range`, {
        method: 'POST',
        body: JSON.stringify({ key: b64('io-worker/http') }),
      })
    ).json()) as { kvs: Array<{ value: string }> };
    expect(Buffer.from(range.kvs[0]!.value, 'base64').toString()).toBe('over http');
    expect((await fetch(`${member.clientUrl}/health`)).status).toBe(200);
    // The worker's counters reach the member's metrics (sent as deltas a few times a second): this fetch's
    // own kept-alive connection shows up.
    let httpConnections = 0;
    const deadline = Date.now() + 5_000;
    while (httpConnections === 0 && Date.now() < deadline) {
      const text = await (await fetch(`${member.clientUrl}/metrics`)).text();
      const line = /cairn_network_client_connections\{protocol="http"\} (\d+)/.exec(text);
      httpConnections = Number(line?.[1] ?? 0);
      if (httpConnections === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(httpConnections).toBeGreaterThan(0);
  });

  it('puts the front calls through the one pipeline: allowed, Unauthenticated and PermissionDenied', async () => {
    const endpoints = [member.clientUrl];
    const ctl = async (...args: string[]): Promise<void> => {
      const result = await etcdctl(args, { endpoints });
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    };
    await ctl('user', 'add', 'root', '--new-user-password=rootpw');
    await ctl('user', 'add', 'alice', '--new-user-password=alicepw');
    await ctl('role', 'add', 'apps');
    await ctl('role', 'grant-permission', 'apps', 'readwrite', 'io-worker/apps/', '--prefix=true');
    await ctl('user', 'grant-role', 'alice', 'apps');
    await ctl('auth', 'enable');
    const address = member.clientUrl.replace(/^http:\/\//, '');
    const { kv, auth } = clients(address);
    try {
      const { token } = await call(auth.Authenticate, auth, { name: 'alice', password: 'alicepw' });
      const allowed = await call(
        kv.Put,
        kv,
        { key: Buffer.from('io-worker/apps/a'), value: Buffer.from('1') },
        token,
      );
      expect(Number(allowed.header.revision)).toBeGreaterThan(1);
      await expect(
        call(kv.Put, kv, { key: Buffer.from('io-worker/apps/a'), value: Buffer.from('2') }, 'not-a-token'),
      ).rejects.toMatchObject({
        code: grpc.status.UNAUTHENTICATED,
        details: 'etcdserver: invalid auth token',
      });
      await expect(
        call(kv.Put, kv, { key: Buffer.from('io-worker/other'), value: Buffer.from('3') }, token),
      ).rejects.toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
        details: 'etcdserver: permission denied',
      });
    } finally {
      kv.close();
      auth.close();
      await ctl('--user', 'root:rootpw', 'auth', 'disable');
    }
  }, 30_000);

  it('stops cleanly with the worker', async () => {
    const status = await stopMember(member);
    expect(status?.code ?? 0).toBe(0);
  }, 15_000);
});

function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}
