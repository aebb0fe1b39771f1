// Session mode of the registry SDK on a real member (one lease per client process, shared by its instances,
// as Consul sessions and Nacos connection liveness): the instances of a RegistryClient share its session
// lease; a SIGKILLed client's instances leave every subscriber within TTL + 1 s; a session revoked behind
// the SDK's back (a server restart past the TTL, a long partition) is opened again and its instances
// registered again; close() deregisters them all at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, RegistryClient, type ServiceSubscription } from '@cairn/client';
import { cleanupAll, repoRoot, spawnManaged, startMember, waitFor, type Member } from '../support';

const TTL = 2;
let member: Member;
let client: EtcdClient;
const registries: RegistryClient[] = [];

beforeAll(async () => {
  member = await startMember();
  client = new EtcdClient(member.clientUrl);
});

afterAll(async () => {
  for (const r of registries) await r.close();
  client?.close();
  await cleanupAll();
});

function registryClient(options: ConstructorParameters<typeof RegistryClient>[1] = {}): RegistryClient {
  const registry = new RegistryClient(member.clientUrl, options);
  registries.push(registry);
  return registry;
}

const ids = (s: ServiceSubscription) => s.instances().map((i) => i.id);
const spec = (service: string, id: string) => ({ service, id, address: { host: '127.0.0.1', port: 7000 } });

describe('registry sessions', () => {
  it('register() calls of one turn go out as one RegisterBatch; a bad instance is refused alone', async () => {
    const registry = registryClient({ session: { ttl: 30 } });
    const calls: string[] = [];
    const call = registry.client.call.bind(registry.client);
    registry.client.call = ((service: string, method: string, ...rest: unknown[]) => {
      calls.push(method);
      return (call as (...a: unknown[]) => Promise<unknown>)(service, method, ...rest);
    }) as typeof registry.client.call;
    const ids = Array.from({ length: 20 }, (_, i) => `n${i}`);
    const settled = await Promise.allSettled([
      ...ids.map((id) => registry.register(spec('batched', id))),
      registry.register({ service: 'batched', id: 'bad', address: { host: '127.0.0.1', port: 0 } }),
    ]);
    expect(calls.filter((m) => m === 'RegisterBatch')).toHaveLength(1);
    expect(calls.filter((m) => m === 'Register')).toHaveLength(0);
    const lease = registry.session!.lease;
    for (const result of settled.slice(0, 20)) {
      expect(result.status).toBe('fulfilled');
      if (result.status === 'fulfilled') expect(result.value.lease).toBe(lease);
    }
    const bad = settled[20]!;
    expect(bad.status).toBe('rejected');
    if (bad.status === 'rejected') {
      expect((bad.reason as { code: number; message: string }).code).toBe(3);
      expect((bad.reason as Error).message).toMatch(/port 0/);
    }
    const revisions = new Set(
      settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value.instance!.mod_revision] : [])),
    );
    expect(revisions.size).toBe(1); // one txn, one revision
    await registry.close();
  });

  it('instances share the session lease; close() deregisters them all; a revoked session is re-established', async () => {
    const registry = registryClient({ session: { ttl: 3 } });
    const regs = await Promise.all(['a', 'b', 'c'].map((id) => registry.register(spec('sess', id))));
    const lease = registry.session!.lease;
    expect(lease).not.toBe(0n);
    expect(regs.map((r) => r.lease)).toEqual([lease, lease, lease]);
    for (const id of ['a', 'b', 'c']) {
      expect((await client.get(`/cairn/registry/default/sess/${id}`))?.lease).toBe(lease);
    }
    // What a server restart past the TTL or a long partition does: the SDK opens a new session and
    // registers every instance on it again.
    const again = Promise.all(regs.map((r) => new Promise((resolve) => r.once('registered', resolve))));
    await client.leaseRevoke(lease);
    await again;
    const renewed = registry.session!.lease;
    expect(renewed).not.toBe(lease);
    for (const id of ['a', 'b', 'c']) {
      expect((await client.get(`/cairn/registry/default/sess/${id}`))?.lease).toBe(renewed);
    }
    await registry.close();
    expect((await client.range('/cairn/registry/default/sess/', { prefix: true })).kvs).toEqual([]);
    expect(await client.leaseTimeToLive(renewed)).toMatchObject({ ttl: -1 });
  });

  it("a SIGKILLed client's instances leave every subscriber within TTL + 1 s", async () => {
    const watcher = registryClient();
    const sub = watcher.subscribe('killed', { emptyProtectionMs: 0 });
    await sub.ready();
    const script = `
      const { RegistryClient } = require('@cairn/client');
      const r = new RegistryClient(${JSON.stringify(member.clientUrl)}, { session: { ttl: ${TTL} } });
      Promise.all(['k1', 'k2', 'k3'].map((id) =>
        r.register({ service: 'killed', id, address: { host: '127.0.0.1', port: 7001 } }),
      )).then(() => console.log('registered'));`;
    const proc = spawnManaged(process.execPath, ['-e', script], { label: 'session client', cwd: repoRoot });
    await proc.waitForStdout((out) => out.includes('registered'), 20_000);
    await waitFor(() => (ids(sub).length === 3 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the subscriber to see the three instances',
    });
    await proc.kill();
    const killedAt = Date.now();
    await waitFor(() => (ids(sub).length === 0 ? true : undefined), {
      timeoutMs: (TTL + 10) * 1000,
      intervalMs: 20,
      what: "the killed client's instances to leave",
    });
    // Renewed every TTL/3: the lease ends at most TTL after the kill, then the leader revokes it.
    expect(Date.now() - killedAt).toBeLessThan((TTL + 1) * 1000 + 500);
  });
});
