// REST authorisation of the registry, the config center and the audit archive on a real member with etcd auth
// enabled through the JSON gateway: for every operation, a user holding exactly the key-range permission
// docs/security.md lists for it is allowed; no token or a bad token is 401; a user without that
// permission is 403 with etcd's message and code. The actor recorded is the authenticated user, never the
// `author` the request sent. (Cairn only: etcd has no registry or config center.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigClient, EtcdClient } from '@cairn/client';
import { cleanupAll, currentTarget, startMember, type Member } from '../support';

const skip = currentTarget().kind === 'etcd';
let member: Member;
const tokens: Record<string, string> = {};

const NS = 'shop';
const APP = `/api/config/v1/namespaces/${NS}/apps/orders`;
const ITEM = `${APP}/items/limits.json`;
const REG = `/api/registry/v1/namespaces/${NS}`;
/** The registry session opened before auth is on (read through getters: set in beforeAll). */
let session = '';

interface Answer {
  status: number;
  body: Record<string, unknown>;
  type: string;
}

async function call(method: string, path: string, body?: unknown, token?: string): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers['authorization'] = `Bearer ${token}`;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 10_000);
  try {
    const response = await fetch(`${member.clientUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: abort.signal,
    });
    const type = response.headers.get('content-type') ?? '';
    // An SSE stream that opened: its status and type are the answer; stop reading.
    if (type.startsWith('text/event-stream')) {
      abort.abort();
      return { status: response.status, body: {}, type };
    }
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, type };
  } finally {
    clearTimeout(timer);
  }
}

async function gateway(path: string, body: object, token?: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${member.clientUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: token } : {}) },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  expect(response.status, `${path}: ${JSON.stringify(answer)}`).toBe(200);
  return answer;
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');
/** etcd's range end of a prefix (the gateway takes base64). */
const prefixEnd = (prefix: string): string => {
  const bytes = Buffer.from(prefix);
  bytes[bytes.length - 1]! += 1;
  return bytes.toString('base64');
};

async function role(name: string, grants: [permType: 'READ' | 'READWRITE', prefix: string][]): Promise<void> {
  await gateway('/v3/auth/role/add', { name });
  for (const [permType, prefix] of grants) {
    await gateway('/v3/auth/role/grant', {
      name,
      perm: { permType, key: b64(prefix), range_end: prefixEnd(prefix) },
    });
  }
}

async function user(name: string, roles: string[]): Promise<void> {
  await gateway('/v3/auth/user/add', { name, password: `${name}-pw` });
  for (const r of roles) await gateway('/v3/auth/user/grant', { user: name, role: r });
}

beforeAll(async () => {
  if (skip) return;
  member = await startMember();
  // The operator's setup while auth is still off: the namespace, the app and its item.
  expect((await call('PUT', `/api/config/v1/namespaces/${NS}`, {})).status).toBe(200);
  expect((await call('PUT', APP, {})).status).toBe(200);
  expect((await call('PUT', ITEM, { format: 'json' })).status).toBe(200);
  // A registry session (one lease per client process) the session operations below use.
  session = String((await call('POST', `${REG}/sessions`, { ttl: 120 })).body['session']);

  await user('root', []);
  await gateway('/v3/auth/user/grant', { user: 'root', role: 'root' }).catch(async () => {
    await gateway('/v3/auth/role/add', { name: 'root' });
    await gateway('/v3/auth/user/grant', { user: 'root', role: 'root' });
  });
  // Exactly the grants docs/security.md lists: an app's prefix, a namespace's registry prefix.
  await role('orders-rw', [
    ['READWRITE', `/cairn/config/${NS}/orders/`],
    ['READWRITE', `/cairn/registry/${NS}/`],
  ]);
  await role('orders-r', [
    ['READ', `/cairn/config/${NS}/orders/`],
    ['READ', `/cairn/registry/${NS}/`],
  ]);
  await role('elsewhere', [
    ['READWRITE', `/cairn/config/${NS}/billing/`],
    ['READWRITE', '/cairn/registry/other/'],
  ]);
  await user('writer', ['orders-rw']);
  await user('reader', ['orders-r']);
  await user('stranger', ['elsewhere']);
  await gateway('/v3/auth/enable', {});
  for (const name of ['root', 'writer', 'reader', 'stranger']) {
    tokens[name] = (await gateway('/v3/auth/authenticate', { name, password: `${name}-pw` }))[
      'token'
    ] as string;
  }
}, 120_000);

afterAll(() => cleanupAll());

type Need = 'read' | 'write';
interface Operation {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  need: Need;
}

// In an order where each allowed call succeeds after the ones before it.
const CONFIG: Operation[] = [
  {
    name: 'create an item',
    method: 'PUT',
    path: `${APP}/items/extra.json`,
    body: { format: 'json' },
    need: 'write',
  },
  { name: 'describe the app', method: 'PUT', path: APP, body: { description: 'orders' }, need: 'write' },
  { name: 'list items', method: 'GET', path: `${APP}/items`, need: 'read' },
  { name: 'get an item', method: 'GET', path: ITEM, need: 'read' },
  { name: 'validate', method: 'POST', path: `${ITEM}/validate`, body: { content: '{}' }, need: 'read' },
  { name: 'save a draft', method: 'PUT', path: `${ITEM}/draft`, body: { content: '{"a":0}' }, need: 'write' },
  { name: 'get the draft', method: 'GET', path: `${ITEM}/draft`, need: 'read' },
  { name: 'discard the draft', method: 'DELETE', path: `${ITEM}/draft`, need: 'write' },
  {
    name: 'publish',
    method: 'POST',
    path: `${ITEM}/publish`,
    body: { content: '{"a":1}', author: 'mallory' },
    need: 'write',
  },
  {
    name: 'publish again',
    method: 'POST',
    path: `${ITEM}/publish`,
    body: { content: '{"a":2}' },
    need: 'write',
  },
  { name: 'list releases', method: 'GET', path: `${ITEM}/releases`, need: 'read' },
  { name: 'get a release', method: 'GET', path: `${ITEM}/releases/1`, need: 'read' },
  { name: 'diff', method: 'GET', path: `${ITEM}/diff?from=1&to=2`, need: 'read' },
  { name: 'roll back', method: 'POST', path: `${ITEM}/rollback`, body: { version: 1 }, need: 'write' },
  {
    name: 'start a gray release',
    method: 'POST',
    path: `${ITEM}/gray`,
    body: { content: '{"a":3}', rule: { labels: { zone: 'eu' } } },
    need: 'write',
  },
  { name: 'get the gray release', method: 'GET', path: `${ITEM}/gray`, need: 'read' },
  { name: 'promote it', method: 'POST', path: `${ITEM}/gray/promote`, body: {}, need: 'write' },
  {
    name: 'start another gray release',
    method: 'POST',
    path: `${ITEM}/gray`,
    body: { content: '{"a":4}', rule: { labels: { zone: 'eu' } } },
    need: 'write',
  },
  { name: 'abandon it', method: 'POST', path: `${ITEM}/gray/abandon`, body: {}, need: 'write' },
  {
    name: 'report as a subscriber',
    method: 'POST',
    path: `${APP}/listeners`,
    body: { subscriberId: 's1' },
    need: 'read',
  },
  { name: "list the app's listeners", method: 'GET', path: `${APP}/listeners`, need: 'read' },
  { name: "list the item's listeners", method: 'GET', path: `${ITEM}/listeners`, need: 'read' },
  { name: 'long-poll', method: 'GET', path: `${APP}/poll?timeoutMs=0`, need: 'read' },
  { name: 'watch (SSE)', method: 'GET', path: `${APP}/watch`, need: 'read' },
  { name: 'export the app', method: 'GET', path: `${APP}/export`, need: 'read' },
  { name: 'item history (audit)', method: 'GET', path: `${ITEM}/history`, need: 'read' },
  { name: 'delete an item', method: 'DELETE', path: `${APP}/items/extra.json`, need: 'write' },
];

const REGISTRY: Operation[] = [
  {
    name: 'register',
    method: 'PUT',
    path: `${REG}/services/orders/instances/o1`,
    body: { address: { host: '10.0.0.7', port: 8080 }, ttl: 30 },
    need: 'write',
  },
  { name: 'list services', method: 'GET', path: `${REG}/services`, need: 'read' },
  { name: 'list instances', method: 'GET', path: `${REG}/services/orders/instances`, need: 'read' },
  { name: 'get an instance', method: 'GET', path: `${REG}/services/orders/instances/o1`, need: 'read' },
  {
    name: 'heartbeat',
    method: 'PUT',
    path: `${REG}/services/orders/instances/o1/heartbeat`,
    need: 'read',
  },
  {
    name: 'update',
    method: 'PATCH',
    path: `${REG}/services/orders/instances/o1`,
    body: { metadata: { region: 'eu' } },
    need: 'write',
  },
  { name: 'watch a service (SSE)', method: 'GET', path: `${REG}/services/orders/watch`, need: 'read' },
  { name: 'watch the namespace (SSE)', method: 'GET', path: `${REG}/watch`, need: 'read' },
  { name: 'deregister', method: 'DELETE', path: `${REG}/services/orders/instances/o1`, need: 'write' },
  { name: 'open a session', method: 'POST', path: `${REG}/sessions`, body: { ttl: 30 }, need: 'write' },
  {
    name: 'register in a session',
    method: 'PUT',
    path: `${REG}/services/orders/instances/s1`,
    get body() {
      return { address: { host: '10.0.0.8', port: 8080 }, session };
    },
    need: 'write',
  },
  {
    name: 'register a batch in a session',
    method: 'POST',
    get path() {
      return `${REG}/sessions/${session}/instances`;
    },
    body: { instances: [{ service: 'orders', id: 'b1', address: { host: '10.0.0.9', port: 8080 } }] },
    need: 'write',
  },
  {
    name: 'batched keep-alive',
    method: 'PUT',
    path: `${REG}/keepalive`,
    get body() {
      return { leases: [session] };
    },
    need: 'read',
  },
  {
    name: 'close a session',
    method: 'DELETE',
    get path() {
      return `${REG}/sessions/${session}`;
    },
    need: 'write',
  },
];

const AUDIT: Operation[] = [
  {
    name: 'audit history of a key',
    method: 'GET',
    path: `/api/audit/v1/history?key=${encodeURIComponent(`/cairn/config/${NS}/orders/limits.json`)}`,
    need: 'read',
  },
  {
    name: 'audit events under the app',
    method: 'GET',
    path: `/api/audit/v1/events?prefix=${encodeURIComponent(`/cairn/config/${NS}/orders/`)}`,
    need: 'read',
  },
];

// The console's key browser and live feed act as their caller too (apps/server/src/console).
const CONSOLE_KEY = `/cairn/config/${NS}/orders/limits.json`;
const CONSOLE: Operation[] = [
  {
    name: 'key tree under the app',
    method: 'GET',
    path: `/api/console/v1/keys/tree?prefix=${encodeURIComponent(`/cairn/config/${NS}/orders/`)}`,
    need: 'read',
  },
  {
    name: 'a key and its value',
    method: 'GET',
    path: `/api/console/v1/keys/value?key=${encodeURIComponent(CONSOLE_KEY)}`,
    need: 'read',
  },
  {
    name: "a key's history",
    method: 'GET',
    path: `/api/console/v1/keys/history?key=${encodeURIComponent(CONSOLE_KEY)}`,
    need: 'read',
  },
  {
    name: 'the live feed (SSE)',
    method: 'GET',
    path: `/api/console/v1/watch?prefix=${encodeURIComponent(`/cairn/config/${NS}/orders/`)}`,
    need: 'read',
  },
  {
    name: 'write a key',
    method: 'PUT',
    path: '/api/console/v1/keys/value',
    body: { key: `/cairn/registry/${NS}/console/k`, value: 'v' },
    need: 'write',
  },
  {
    name: 'delete a key',
    method: 'DELETE',
    path: `/api/console/v1/keys/value?key=${encodeURIComponent(`/cairn/registry/${NS}/console/k`)}`,
    need: 'write',
  },
];

function expectRefused(answer: Answer, status: 401 | 403, what: string): void {
  expect(answer.status, `${what}: ${JSON.stringify(answer.body)}`).toBe(status);
  expect(answer.type, what).toMatch(/application\/json/);
  if (status === 403) {
    expect(answer.body, what).toMatchObject({ error: 'etcdserver: permission denied', code: 7 });
  } else {
    expect(String(answer.body['error']), what).toMatch(/etcdserver: (user name is empty|invalid auth token)/);
  }
}

describe.skipIf(skip)('REST authorisation by key-range permissions', () => {
  for (const [feature, operations] of [
    ['config center', CONFIG],
    ['registry', REGISTRY],
    ['audit archive', AUDIT],
    ['console', CONSOLE],
  ] as const) {
    it(`${feature}: each operation is 401 without or with a bad token, 403 without its permission, allowed with it`, async () => {
      for (const op of operations) {
        const what = `${op.method} ${op.path} (${op.name})`;
        expectRefused(await call(op.method, op.path, op.body), 401, `${what} without a token`);
        expectRefused(
          await call(op.method, op.path, op.body, 'not-a-token'),
          401,
          `${what} with a bad token`,
        );
        // Without the permission: a write by the read-only user, a read by a user granted elsewhere only.
        const lacking = op.need === 'write' ? tokens['reader'] : tokens['stranger'];
        expectRefused(await call(op.method, op.path, op.body, lacking), 403, `${what} without ${op.need}`);
        const allowed = await call(
          op.method,
          op.path,
          op.body,
          tokens[op.need === 'write' ? 'writer' : 'reader'],
        );
        expect(allowed.status, `${what} allowed: ${JSON.stringify(allowed.body)}`).toBeLessThan(300);
      }
    }, 120_000);
  }

  it('records the authenticated user as the actor, never the author the request sent', async () => {
    const release = await call('GET', `${ITEM}/releases/1`, undefined, tokens['reader']);
    expect(release.body).toMatchObject({ actor: 'writer', author: 'mallory' });
    const registered = await call(
      'PUT',
      `${REG}/services/orders/instances/o2`,
      { address: { host: '10.0.0.8', port: 8080 }, ttl: 30 },
      tokens['writer'],
    );
    expect(registered.body['instance']).toMatchObject({ registered_by: 'writer' });
    // The audit archive attributes the write from the Raft entry's user, whoever served it: the registry's
    // write, and a raw KV write through the gateway alike.
    await gateway(
      '/v3/kv/put',
      { key: b64(`/cairn/registry/${NS}/raw/k`), value: b64('{}') },
      tokens['writer'],
    );
    const actorsOf = async (key: string): Promise<string[]> => {
      const answer = await call(
        'GET',
        `/api/audit/v1/history?key=${encodeURIComponent(key)}`,
        undefined,
        tokens['root'],
      );
      const events = (answer.body['events'] ?? []) as Array<{ actor: string | null }>;
      return events.map((event) => event.actor ?? '');
    };
    for (const key of [`/cairn/registry/${NS}/orders/o2`, `/cairn/registry/${NS}/raw/k`]) {
      const deadline = Date.now() + 10_000;
      let actors = await actorsOf(key);
      while (!actors.includes('writer') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        actors = await actorsOf(key);
      }
      expect(actors, `audit actors of ${key}`).toContain('writer');
    }
  });

  it('root may do anything, including the namespace-wide listings an app grant does not cover', async () => {
    expect((await call('GET', '/api/config/v1/namespaces', undefined, tokens['root'])).status).toBe(200);
    expect((await call('GET', '/api/registry/v1/namespaces', undefined, tokens['root'])).status).toBe(200);
    expectRefused(
      await call('GET', '/api/config/v1/namespaces', undefined, tokens['writer']),
      403,
      'list namespaces',
    );
  });
});

describe.skipIf(skip)('the same permissions over gRPC, with the SDK sending its token', () => {
  const code = async (work: Promise<unknown>): Promise<number | undefined> =>
    work.then(
      () => undefined,
      (err: { code?: number }) => err.code,
    );

  it('config: a subscriber with READ gets its config and reports; a publish needs WRITE; no token is refused', async () => {
    const reader = new ConfigClient({ endpoints: member.clientUrl, token: tokens['reader'] });
    const writer = new ConfigClient({ endpoints: member.clientUrl, token: tokens['writer'] });
    const anonymous = new ConfigClient({ endpoints: member.clientUrl });
    try {
      const sub = await reader.subscribe(NS, 'orders', { cacheDir: false, subscriberId: 'grpc-reader' });
      expect(sub.source).toBe('server');
      expect(Object.keys(sub.config)).toContain('limits.json');
      sub.close();
      expect(await code(reader.publish(NS, 'orders', 'limits.json', '{"a":9}'))).toBe(7); // PermissionDenied
      expect(await code(writer.publish(NS, 'orders', 'limits.json', '{"a":9}'))).toBeUndefined();
      expect(await code(anonymous.publish(NS, 'orders', 'limits.json', '{"a":9}'))).toBe(3); // user name is empty
      const stranger = new ConfigClient({ endpoints: member.clientUrl, token: tokens['stranger'] });
      await expect(
        stranger.subscribe(NS, 'orders', { cacheDir: false, startTimeoutMs: 3000 }),
      ).rejects.toBeDefined();
      stranger.close();
    } finally {
      reader.close();
      writer.close();
      anonymous.close();
    }
  });

  it('registry sessions over gRPC: OpenSession/CloseSession need WRITE, KeepAlive READ; no token is refused', async () => {
    const R = 'cairn.registry.v1.Registry';
    const client = new EtcdClient({ endpoints: member.clientUrl, token: tokens['reader'] });
    const anonymous = new EtcdClient({ endpoints: member.clientUrl });
    try {
      expect(await code(client.call(R, 'OpenSession', { namespace: NS, ttl: 30 }))).toBe(7);
      expect(await code(anonymous.call(R, 'OpenSession', { namespace: NS, ttl: 30 }))).toBe(3);
      client.setToken(tokens['writer']);
      const opened = await client.call<object, { session: string }>(R, 'OpenSession', {
        namespace: NS,
        ttl: 30,
      });
      const renew = { namespace: NS, leases: [opened.session] };
      client.setToken(tokens['reader']);
      expect(await client.call<object, { ttls: string[] }>(R, 'KeepAlive', renew)).toEqual({ ttls: ['30'] });
      expect(await code(anonymous.call(R, 'KeepAlive', renew))).toBe(3);
      client.setToken(tokens['stranger']);
      expect(await code(client.call(R, 'KeepAlive', renew))).toBe(7);
      const close = { namespace: NS, session: opened.session };
      client.setToken(tokens['reader']);
      expect(await code(client.call(R, 'CloseSession', close))).toBe(7);
      expect(await code(anonymous.call(R, 'CloseSession', close))).toBe(3);
      client.setToken(tokens['writer']);
      expect(await code(client.call(R, 'CloseSession', close))).toBeUndefined();
    } finally {
      client.close();
      anonymous.close();
    }
  });

  it('registry RegisterBatch over gRPC needs WRITE on the namespace; no token or a bad one is refused', async () => {
    const R = 'cairn.registry.v1.Registry';
    const client = new EtcdClient({ endpoints: member.clientUrl, token: tokens['writer'] });
    const anonymous = new EtcdClient({ endpoints: member.clientUrl });
    const bogus = new EtcdClient({ endpoints: member.clientUrl, token: 'not-a-token' });
    try {
      const { session: opened } = await client.call<object, { session: string }>(R, 'OpenSession', {
        namespace: NS,
        ttl: 30,
      });
      const batch = {
        namespace: NS,
        session: opened,
        instances: [{ service: 'grpc-batch', id: 'gb1', address: { host: '10.0.0.9', port: 80 } }],
      };
      const ok = await client.call<object, { results: { registered?: { lease: string } }[] }>(
        R,
        'RegisterBatch',
        batch,
      );
      expect(ok.results[0]?.registered?.lease).toBe(opened);
      expect(await code(anonymous.call(R, 'RegisterBatch', batch))).toBe(3); // user name is empty
      expect(await code(bogus.call(R, 'RegisterBatch', batch))).toBe(16); // Unauthenticated
      client.setToken(tokens['reader']);
      expect(await code(client.call(R, 'RegisterBatch', batch))).toBe(7); // READ only: PermissionDenied
      client.setToken(tokens['stranger']);
      expect(await code(client.call(R, 'RegisterBatch', batch))).toBe(7);
    } finally {
      client.close();
      anonymous.close();
      bogus.close();
    }
  });

  it('registry: register needs WRITE on the namespace, its watch READ (refused as PermissionDenied)', async () => {
    const client = new EtcdClient({ endpoints: member.clientUrl, token: tokens['reader'] });
    try {
      const instance = { namespace: NS, service: 'grpc', id: 'g1', address: { host: '10.0.0.9', port: 80 } };
      expect(await code(client.call('cairn.registry.v1.Registry', 'Register', { instance, ttl: 30 }))).toBe(
        7,
      );
      client.setToken(tokens['writer']);
      expect(
        await code(client.call('cairn.registry.v1.Registry', 'Register', { instance, ttl: 30 })),
      ).toBeUndefined();
      client.setToken(tokens['stranger']);
      const watch = client
        .serviceClient<
          import('@grpc/grpc-js').Client & {
            Watch(req: object): import('@grpc/grpc-js').ClientReadableStream<object>;
          }
        >('cairn.registry.v1.Registry')
        .Watch({ namespace: NS, service: 'grpc' });
      const refused = await new Promise<number | undefined>((resolve) => {
        watch.on('error', (err: { code?: number }) => resolve(err.code));
        watch.on('data', () => resolve(undefined));
      });
      expect(refused).toBe(7);
    } finally {
      client.close();
    }
  });
});
