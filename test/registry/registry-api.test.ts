// The registry's REST, SSE and gRPC APIs on a real member: register/re-register/heartbeat/update/deregister,
// lists with counts and filters, validation errors with matching status codes, the etcd naming key
// (also through etcdctl), SSE snapshot + events + Last-Event-ID resume + re-snapshot after compaction,
// the same over gRPC, and the OpenAPI document.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '@cairn/client';
import { cleanupAll, etcdctlAt, startMember, waitFor, type Member } from '../support';
import { readSse, rest } from './helpers';

let member: Member;
let client: EtcdClient;
const base = '/namespaces/default/services';

beforeAll(async () => {
  // With the etcd naming entries on (off by default, libs/registry/test covers that): this suite checks them.
  member = await startMember({ extraFlags: ['--registry-etcd-naming'] });
  client = new EtcdClient(member.clientUrl);
});

afterAll(async () => {
  client?.close();
  await cleanupAll();
});

interface Registered {
  instance: Record<string, unknown> & { registered_at: string; lease: string; mod_revision: string };
  lease: string;
  ttl: number;
  revision: string;
}

describe('REST', () => {
  it('registers an instance: one txn writes the record and the naming key on the returned lease', async () => {
    const { status, body } = await rest<Registered>(member, 'PUT', `${base}/orders/instances/o1`, {
      address: { host: '10.0.0.7', port: 8080 },
      ttl: 30,
      tags: ['primary'],
      zone: 'eu-1a',
      metadata: { region: 'eu' },
    });
    expect(status).toBe(200);
    expect(body.ttl).toBe(30);
    expect(BigInt(body.lease) > 0n).toBe(true);
    expect(body.instance).toMatchObject({
      id: 'o1',
      service: 'orders',
      namespace: 'default',
      address: { host: '10.0.0.7', port: 8080, scheme: 'http' },
      status: 'UP',
      health: { status: 'passing' },
    });
    const record = await client.get('/cairn/registry/default/orders/o1');
    const naming = await client.get('/cairn/registry/default/~naming/orders/o1');
    expect(record?.lease).toBe(BigInt(body.lease));
    expect(naming?.lease).toBe(BigInt(body.lease));
    expect(record?.modRevision).toBe(naming?.modRevision); // same txn
    expect(JSON.parse(naming!.value.toString())).toEqual({
      Op: 0,
      Addr: '10.0.0.7:8080',
      Metadata: { region: 'eu', id: 'o1', scheme: 'http' },
    });
    const etcdctl = etcdctlAt(member);
    const listed = await etcdctl(['get', '--prefix', '/cairn/registry/default/~naming/orders/']);
    expect(listed.stdout).toContain('/cairn/registry/default/~naming/orders/o1');
    expect(listed.stdout).toContain('"Addr":"10.0.0.7:8080"');
  });

  it('re-registering the same id is idempotent: same lease and registration time, new revision', async () => {
    const first = await rest<{ lease: string; registered_at: string }>(
      member,
      'GET',
      `${base}/orders/instances/o1`,
    );
    const again = await rest<Registered>(member, 'PUT', `${base}/orders/instances/o1`, {
      address: { host: '10.0.0.7', port: 8080 },
      ttl: 30,
    });
    expect(again.status).toBe(200);
    expect(again.body.lease).toBe(first.body.lease);
    expect(again.body.instance.registered_at).toBe(first.body.registered_at);
    // A different TTL takes a new lease and revokes the old one.
    const changed = await rest<Registered>(member, 'PUT', `${base}/orders/instances/o1`, {
      address: { host: '10.0.0.7', port: 8080 },
      ttl: 20,
    });
    expect(changed.body.lease).not.toBe(first.body.lease);
    expect((await client.leaseTimeToLive(BigInt(first.body.lease))).ttl).toBe(-1);
    expect((await client.get('/cairn/registry/default/~naming/orders/o1'))?.lease).toBe(
      BigInt(changed.body.lease),
    );
  });

  it('heartbeats, updates metadata and status, lists with counts and filters', async () => {
    await rest(member, 'PUT', `${base}/orders/instances/o2`, {
      address: { host: '10.0.0.8', port: 8080 },
      tags: ['canary'],
      zone: 'eu-1b',
      metadata: { region: 'us' },
    });
    const beat = await rest<{ lease: string; ttl: number }>(
      member,
      'PUT',
      `${base}/orders/instances/o2/heartbeat`,
    );
    expect(beat.status).toBe(200);
    expect(beat.body.ttl).toBe(10);
    const patched = await rest<Record<string, unknown>>(member, 'PATCH', `${base}/orders/instances/o2`, {
      status: 'DRAINING',
      metadata: { build: '42', region: '' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ status: 'DRAINING', metadata: { build: '42' } });
    expect((patched.body['metadata'] as Record<string, string>)['region']).toBeUndefined();

    const services = await rest<{ services: unknown[] }>(member, 'GET', `/namespaces/default/services`);
    expect(services.body.services).toEqual([{ name: 'orders', healthy: 1, total: 2 }]);
    const namespaces = await rest(member, 'GET', `/namespaces`);
    expect(namespaces.body).toEqual({ namespaces: ['default'] });
    const ids = async (query: string) =>
      (
        await rest<{ instances: { id: string }[] }>(member, 'GET', `${base}/orders/instances${query}`)
      ).body.instances.map((i) => i.id);
    expect(await ids('')).toEqual(['o1', 'o2']);
    expect(await ids('?tag=canary')).toEqual(['o2']);
    expect(await ids('?zone=eu-1b')).toEqual(['o2']);
    expect(await ids('?metadata=build=42')).toEqual(['o2']);
    expect(await ids('?health=passing')).toEqual(['o1', 'o2']);
    expect(await ids('?health=critical')).toEqual([]);
  });

  it('deregister deletes the record and the naming key and revokes the lease', async () => {
    const before = await rest<{ lease: string }>(member, 'GET', `${base}/orders/instances/o2`);
    const { status } = await rest(member, 'DELETE', `${base}/orders/instances/o2`);
    expect(status).toBe(200);
    expect(await client.get('/cairn/registry/default/orders/o2')).toBeUndefined();
    expect(await client.get('/cairn/registry/default/~naming/orders/o2')).toBeUndefined();
    expect((await client.leaseTimeToLive(BigInt(before.body.lease))).ttl).toBe(-1);
    expect((await rest(member, 'GET', `${base}/orders/instances/o2`)).status).toBe(404);
  });

  it('answers bad input with 400 and its reason, unknown instances with 404, and writes nothing', async () => {
    const put = (service: string, body: unknown) =>
      rest<{ message: unknown }>(member, 'PUT', `${base}/${service}/instances/x1`, body);
    const cases: [string, string, unknown, RegExp][] = [
      ['missing service name', '%20', { address: { host: 'h', port: 1 } }, /service name/],
      ['missing address', 'svc', {}, /address is required/],
      ['invalid port', 'svc', { address: { host: 'h', port: 70000 } }, /port must be in 1..65535/],
      ['invalid host', 'svc', { address: { host: 'not a host', port: 80 } }, /invalid address/],
      ['ttl too small', 'svc', { address: { host: 'h', port: 1 }, ttl: 0 }, /ttl is out of range/],
      ['ttl too large', 'svc', { address: { host: 'h', port: 1 }, ttl: 86400 }, /ttl is out of range/],
      ['bad status', 'svc', { address: { host: 'h', port: 1 }, status: 'SLEEPING' }, /status/],
      ['bad check type', 'svc', { address: { host: 'h', port: 1 }, check: { type: 'icmp' } }, /check.type/],
      ['unknown field', 'svc', { address: { host: 'h', port: 1 }, color: 'red' }, /color should not exist/],
      ['not JSON', 'svc', '{"address":', /invalid JSON body/],
    ];
    for (const [what, service, body, message] of cases) {
      const response = await put(service, body);
      expect({ what, status: response.status }).toEqual({ what, status: 400 });
      expect(JSON.stringify(response.body.message)).toMatch(message);
    }
    expect((await client.range('/cairn/registry/default/svc/', { prefix: true })).kvs).toHaveLength(0);
    expect((await rest(member, 'PUT', `${base}/orders/instances/ghost/heartbeat`)).status).toBe(404);
    expect((await rest(member, 'PATCH', `${base}/orders/instances/ghost`, { status: 'UP' })).status).toBe(
      404,
    );
    expect((await rest(member, 'DELETE', `${base}/orders/instances/ghost`)).status).toBe(404);
    expect((await rest(member, 'GET', `${base}/orders/instances?health=sick`)).status).toBe(400);
  });

  it('serves the OpenAPI document with the registry routes', async () => {
    const response = await fetch(`${member.clientUrl}/api/docs-json`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/registry/v1/namespaces/{ns}/services/{service}/instances/{id}',
        '/api/registry/v1/namespaces/{ns}/services/{service}/watch',
      ]),
    );
    expect((await fetch(`${member.clientUrl}/api/docs`)).status).toBe(200);
  });
});

describe('SSE watch', () => {
  const watchUrl = () => `${member.clientUrl}/api/registry/v1${base}/pay/watch`;

  it('sends a snapshot, then added/updated/removed with their revisions as ids; Last-Event-ID resumes', async () => {
    await rest(member, 'PUT', `${base}/pay/instances/p1`, { address: { host: '10.0.1.1', port: 80 } });
    const stream = readSse(watchUrl());
    await waitFor(() => (stream.events.length >= 1 ? true : undefined), {
      timeoutMs: 5000,
      what: 'snapshot',
    });
    expect(stream.events[0]!.event).toBe('snapshot');
    expect((stream.events[0]!.data['instances'] as { id: string }[]).map((i) => i.id)).toEqual(['p1']);

    const added = await rest<Registered>(member, 'PUT', `${base}/pay/instances/p2`, {
      address: { host: '10.0.1.2', port: 80 },
    });
    const updated = await rest<Record<string, string>>(member, 'PATCH', `${base}/pay/instances/p1`, {
      status: 'DOWN',
    });
    const removed = await rest<{ revision: string }>(member, 'DELETE', `${base}/pay/instances/p2`);
    await waitFor(() => (stream.events.length >= 4 ? true : undefined), {
      timeoutMs: 5000,
      what: '3 change events',
    });
    stream.abort();
    expect(
      stream.events.slice(1).map((e) => [e.event, e.id, (e.data['instance'] as { id: string }).id]),
    ).toEqual([
      ['added', added.body.revision, 'p2'],
      ['updated', updated.body['mod_revision'], 'p1'],
      ['removed', removed.body.revision, 'p2'],
    ]);

    // Resume after the 'added' event: exactly the two later changes, then live ones.
    const resumed = readSse(watchUrl(), { 'Last-Event-ID': added.body.revision });
    await waitFor(() => (resumed.events.length >= 2 ? true : undefined), {
      timeoutMs: 5000,
      what: 'resumed events',
    });
    const late = await rest<Registered>(member, 'PUT', `${base}/pay/instances/p3`, {
      address: { host: '10.0.1.3', port: 80 },
    });
    await waitFor(() => (resumed.events.length >= 3 ? true : undefined), {
      timeoutMs: 5000,
      what: 'live event',
    });
    resumed.abort();
    expect(resumed.events.map((e) => [e.event, e.id])).toEqual([
      ['updated', updated.body['mod_revision']],
      ['removed', removed.body.revision],
      ['added', late.body.revision],
    ]);
  });

  it('a Last-Event-ID that was compacted gets a fresh snapshot instead of an error', async () => {
    const old = await rest<Registered>(member, 'PUT', `${base}/pay/instances/p4`, {
      address: { host: '10.0.1.4', port: 80 },
    });
    const last = await rest<Registered>(member, 'PUT', `${base}/pay/instances/p5`, {
      address: { host: '10.0.1.5', port: 80 },
    });
    await client.call('etcdserverpb.KV', 'Compact', { revision: last.body.revision });
    const stream = readSse(watchUrl(), { 'Last-Event-ID': String(Number(old.body.revision) - 1) });
    await waitFor(() => (stream.events.length >= 1 ? true : undefined), {
      timeoutMs: 5000,
      what: 'snapshot',
    });
    stream.abort();
    expect(stream.events[0]!.event).toBe('snapshot');
    expect((stream.events[0]!.data['instances'] as { id: string }[]).map((i) => i.id)).toEqual([
      'p1',
      'p3',
      'p4',
      'p5',
    ]);
  });

  it('watches a whole namespace', async () => {
    const stream = readSse(`${member.clientUrl}/api/registry/v1/namespaces/default/watch`);
    await waitFor(() => (stream.events.length >= 1 ? true : undefined), {
      timeoutMs: 5000,
      what: 'snapshot',
    });
    await rest(member, 'PUT', `${base}/other/instances/z1`, { address: { host: '10.0.2.1', port: 80 } });
    await waitFor(() => (stream.events.length >= 2 ? true : undefined), { timeoutMs: 5000, what: 'added' });
    stream.abort();
    const services = new Set(
      (stream.events[0]!.data['instances'] as { service: string }[]).map((i) => i.service),
    );
    expect(services).toEqual(new Set(['orders', 'pay']));
    expect(stream.events[1]).toMatchObject({
      event: 'added',
      data: { instance: { service: 'other', id: 'z1' } },
    });
  });
});

describe('gRPC cairn.registry.v1', () => {
  const svc = 'cairn.registry.v1.Registry';

  it('registers, gets, lists and watches with the same semantics', async () => {
    const registered = await client.call<object, { lease: string; ttl: number; revision: string }>(
      svc,
      'Register',
      {
        instance: {
          namespace: 'grpc',
          service: 'inventory',
          id: 'i1',
          address: { host: '10.0.3.1', port: 9090, scheme: 'grpc' },
        },
        ttl: 15,
      },
    );
    expect(registered.ttl).toBe(15);
    const got = await client.call<object, { address: { scheme: string }; lease: string }>(svc, 'Get', {
      namespace: 'grpc',
      service: 'inventory',
      id: 'i1',
    });
    expect(got.address.scheme).toBe('grpc');
    expect(got.lease).toBe(registered.lease);
    const list = await client.call<object, { services: unknown[] }>(svc, 'ListServices', {
      namespace: 'grpc',
    });
    expect(list.services).toEqual([{ name: 'inventory', healthy: 1, total: 1 }]);

    const events: { type: string; revision: string }[] = [];
    const stream = client
      .serviceClient<
        import('@grpc/grpc-js').Client & {
          Watch(
            req: object,
          ): import('@grpc/grpc-js').ClientReadableStream<{ type: string; revision: string }>;
        }
      >(svc)
      .Watch({ namespace: 'grpc', service: 'inventory', start_revision: '0' });
    stream.on('data', (event: { type: string; revision: string }) => events.push(event));
    stream.on('error', () => undefined);
    await waitFor(() => (events.length >= 1 ? true : undefined), { timeoutMs: 5000, what: 'snapshot' });
    const removed = await client.call<object, { revision: string }>(svc, 'Deregister', {
      namespace: 'grpc',
      service: 'inventory',
      id: 'i1',
    });
    await waitFor(() => (events.length >= 2 ? true : undefined), { timeoutMs: 5000, what: 'removed' });
    stream.cancel();
    expect(events.map((e) => e.type)).toEqual(['snapshot', 'removed']);
    expect(events[1]!.revision).toBe(removed.revision);

    await expect(
      client.call(svc, 'Register', {
        instance: { namespace: 'grpc', service: 'inventory', id: 'i2', address: { host: 'h', port: 0 } },
      }),
    ).rejects.toMatchObject({ code: 3, details: expect.stringMatching(/port/) });
    await expect(
      client.call(svc, 'Get', { namespace: 'grpc', service: 'inventory', id: 'nope' }),
    ).rejects.toMatchObject({
      code: 5,
    });
  });
});
