// Instance lifetimes with real processes: echo services register through the SDK; several SDK
// subscribers follow the service; a SIGKILLed instance disappears from every subscriber within TTL + 1 s,
// a gracefully stopped one at once; the etcd naming key (--registry-etcd-naming) follows the instance's lifetime; a subscriber
// whose connection is cut and restored sees every change exactly once, in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, RegistryClient, type InstanceChange, type ServiceSubscription } from '@cairn/client';
import { cleanupAll, etcdctlAt, startMember, waitFor, type Member } from '../support';
import { RESET, PASS, TcpProxy } from '../support/tcp-proxy';
import { rest, startEcho } from './helpers';

const TTL = 2;
let member: Member;
let client: EtcdClient;
const registries: RegistryClient[] = [];

beforeAll(async () => {
  // With the etcd naming entries on (off by default): this suite follows them through an instance's life.
  member = await startMember({ extraFlags: ['--registry-etcd-naming'] });
  client = new EtcdClient(member.clientUrl);
});

afterAll(async () => {
  for (const r of registries) await r.close();
  client?.close();
  await cleanupAll();
});

function subscriber(endpoint = member.clientUrl): ServiceSubscription {
  const registry = new RegistryClient(endpoint);
  registries.push(registry);
  return registry.subscribe('echo', { emptyProtectionMs: 0 });
}

const ids = (s: ServiceSubscription) => s.instances().map((i) => i.id);

describe('instance lifetime', () => {
  it('registers echo services; a SIGKILLed one is gone from every subscriber within TTL + 1 s, a stopped one at once', async () => {
    const subs = [subscriber(), subscriber(), subscriber()];
    await Promise.all(subs.map((s) => s.ready()));
    const a = await startEcho(member, 'echo-a', TTL);
    const b = await startEcho(member, 'echo-b', TTL);
    const c = await startEcho(member, 'echo-c', TTL);
    for (const s of subs) {
      await waitFor(() => (ids(s).join() === 'echo-a,echo-b,echo-c' ? true : undefined), {
        timeoutMs: 5000,
        what: `three instances (saw ${ids(s).join()})`,
      });
    }
    const etcdctl = etcdctlAt(member);
    expect(
      (await etcdctl(['get', '--prefix', '--keys-only', '/cairn/registry/default/~naming/echo/'])).stdout
        .split('\n')
        .filter(Boolean),
    ).toEqual([
      '/cairn/registry/default/~naming/echo/echo-a',
      '/cairn/registry/default/~naming/echo/echo-b',
      '/cairn/registry/default/~naming/echo/echo-c',
    ]);

    // Crash: the lease expires after TTL s; every subscriber hears of it.
    const killedAt = Date.now();
    await a.proc.kill();
    const heard = await Promise.all(
      subs.map((s) =>
        waitFor(() => (ids(s).includes('echo-a') ? undefined : Date.now() - killedAt), {
          timeoutMs: (TTL + 1) * 1000 + 1000, // TTL + 1 s, plus scheduling slack for a loaded CI machine
          what: 'echo-a to leave the subscriber view',
        }),
      ),
    );
    console.log(
      `SIGKILL -> gone from the last of 3 subscribers after ${Math.max(...heard)} ms (TTL ${TTL} s)`,
    );
    expect(subs.map(ids)).toEqual([
      ['echo-b', 'echo-c'],
      ['echo-b', 'echo-c'],
      ['echo-b', 'echo-c'],
    ]);
    expect(await client.get('/cairn/registry/default/~naming/echo/echo-a')).toBeUndefined();

    // Graceful stop: the SDK deregisters on SIGTERM, so the instance is gone long before its TTL.
    const stoppedAt = Date.now();
    await b.proc.terminate();
    const gone = await Promise.all(
      subs.map((s) =>
        waitFor(() => (ids(s).includes('echo-b') ? undefined : Date.now() - stoppedAt), {
          timeoutMs: TTL * 1000,
          what: 'echo-b to leave at once',
        }),
      ),
    );
    console.log(`SIGTERM -> gone from the last of 3 subscribers after ${Math.max(...gone)} ms`);
    expect(await client.get('/cairn/registry/default/~naming/echo/echo-b')).toBeUndefined();
    expect((await rest(member, 'GET', '/namespaces/default/services/echo/instances/echo-b')).status).toBe(
      404,
    );
    expect(subs.map(ids)).toEqual([['echo-c'], ['echo-c'], ['echo-c']]);
    await c.proc.terminate();
  });

  it('a subscriber cut off and reconnected sees every change exactly once and in order', async () => {
    const proxy = await TcpProxy.start({
      targetPort: Number(new URL(member.clientUrl).port),
      label: 'subscriber proxy',
    });
    try {
      const reference = subscriber();
      const resumed = subscriber(`http://127.0.0.1:${proxy.port}`);
      await Promise.all([reference.ready(), resumed.ready()]);
      const log = (s: ServiceSubscription) => {
        const seen: string[] = [];
        s.on('change', (c: InstanceChange) => seen.push(`${c.revision} ${c.type} ${c.instance.id}`));
        return seen;
      };
      const expected = log(reference);
      const seen = log(resumed);
      const put = (id: string) =>
        rest(member, 'PUT', `/namespaces/default/services/echo/instances/${id}`, {
          address: { host: '127.0.0.1', port: 9000 },
          ttl: 30,
        });
      const del = (id: string) => rest(member, 'DELETE', `/namespaces/default/services/echo/instances/${id}`);
      await put('r1');
      await put('r2');
      await waitFor(() => (seen.length >= 2 ? true : undefined), { timeoutMs: 5000, what: 'first changes' });
      // Cut every connection through the proxy, and keep cutting while changes happen.
      proxy.setFault(RESET);
      await put('r3');
      await rest(member, 'PATCH', '/namespaces/default/services/echo/instances/r1', { status: 'DRAINING' });
      await del('r2');
      await put('r4');
      expect(proxy.stats().reset).toBeGreaterThan(0);
      proxy.setFault(PASS);
      await put('r5');
      await del('r1');
      await waitFor(() => (expected.length >= 8 && seen.length >= expected.length ? true : undefined), {
        timeoutMs: 15_000,
        what: `the resumed subscriber to catch up (expected ${expected.length}, saw ${seen.length})`,
      });
      expect(seen).toEqual(expected);
      expect(proxy.stats().accepted).toBeGreaterThan(1); // it did reconnect
      expect(new Set(seen).size).toBe(seen.length);
      expect(ids(resumed)).toEqual(['r3', 'r4', 'r5']);
    } finally {
      await proxy.close();
    }
  });

  it('the SDK registers again after its lease is lost, and deregisters on close()', async () => {
    const registry = new RegistryClient(member.clientUrl);
    registries.push(registry);
    const registration = await registry.register(
      { service: 'sdk', id: 's1', address: { host: '127.0.0.1', port: 7000 }, tags: ['t'] },
      { ttl: 3 },
    );
    const firstLease = registration.lease;
    expect((await client.get('/cairn/registry/default/sdk/s1'))?.lease).toBe(firstLease);
    const again = new Promise<void>((resolve) => registration.once('registered', () => resolve()));
    await client.leaseRevoke(firstLease); // what a server restart past the TTL or a long partition does
    await again;
    expect(registration.lease).not.toBe(firstLease);
    const record = await client.get('/cairn/registry/default/sdk/s1');
    expect(record?.lease).toBe(registration.lease);
    expect((JSON.parse(record!.value.toString()) as { tags: string[] }).tags).toEqual(['t']);
    await registration.close();
    expect(await client.get('/cairn/registry/default/sdk/s1')).toBeUndefined();
    expect(await client.get('/cairn/registry/default/~naming/sdk/s1')).toBeUndefined();
  });
});
