// The registry core over a LocalEtcdPort (the member's state machine without Raft, on a temp LevelDB dir,
// with a manual lease clock): keys and naming values, validation, one-txn registration, idempotent
// re-register, heartbeat, deregister, lists, TTL expiry, the watch's snapshot/events/resume/compaction
// re-snapshot, and the health checker's flap damping with injected probes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CallContext, LocalEtcdPort, internalContext } from '@cairn/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  HealthChecker,
  Registry,
  RegistryError,
  RegistryKeys,
  type RegistryWatchEvent,
  namingValue,
  validateRegister,
} from '../src';
import type { ProbeResult } from '../src/health/probes';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Fixture {
  registry: Registry;
  local: LocalEtcdPort;
  /** Moves the lease clock (ms). */
  advance(ms: number): void;
}

async function startRegistry(options: { etcdNaming?: boolean } = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-registry-'));
  let now = 1_000_000;
  const local = await LocalEtcdPort.open({ dataDir: dir, leaseClock: { now: () => now } });
  const registry = new Registry({ port: local.port, ...options });
  cleanups.push(async () => {
    registry.close();
    await local.close();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    registry,
    local,
    advance: (ms) => {
      now += ms;
    },
  };
}

const ctx = internalContext();
/** The caller of the tests' registry operations: an authenticated user (recorded as registered_by). */
const caller: CallContext = { identity: { user: 'tester' } };

async function getKv(local: LocalEtcdPort, key: string) {
  return (await local.port.range(ctx, { key: Buffer.from(key) })).kvs[0];
}

/** Collects a watch's events; `next(n)` waits (bounded) until n have arrived. */
function collect(registry: Registry, options: Parameters<Registry['watch']>[1]) {
  const events: RegistryWatchEvent[] = [];
  const watch = registry.watch(caller, options, (e) => events.push(e));
  const next = async (n: number) => {
    await vi.waitFor(
      () => {
        if (events.length < n) {
          throw new Error(`expected ${n} watch events, saw ${JSON.stringify(events.map((e) => e.type))}`);
        }
      },
      { timeout: 3000, interval: 5 },
    );
    return events;
  };
  return { events, watch, next };
}

const input = (id: string, extra: object = {}) => ({
  namespace: 'default',
  service: 'orders',
  id,
  address: { host: '10.0.0.1', port: 80 },
  ...extra,
});

describe('keys and naming', () => {
  it('places records under <root><ns>/<service>/<id> and naming keys inside the namespace: <root><ns>/~naming/<service>/<id>', () => {
    const keys = new RegistryKeys('/reg/');
    expect(keys.instanceKey('default', 'orders', 'o1')).toBe('/reg/default/orders/o1');
    expect(keys.namingKey('default', 'orders', 'o1')).toBe('/reg/default/~naming/orders/o1');
    expect(keys.namingKey('prod', 'orders', 'o1')).toBe('/reg/prod/~naming/orders/o1');
    // Namespaces never overlap: a namespace called "orders" has its own naming prefix.
    expect(keys.namingPrefix('orders', 'x')).toBe('/reg/orders/~naming/x/');
    expect(keys.parse(keys.namingKey('default', 'orders', 'o1'))).toBeUndefined();
    expect(keys.parse('/reg/default/orders/o1')).toEqual({
      namespace: 'default',
      service: 'orders',
      id: 'o1',
    });
    expect(keys.parse('/reg/default/orders')).toBeUndefined();
  });

  it("writes etcd's endpoints JSON ({Op, Addr, Metadata})", () => {
    const value = JSON.parse(
      namingValue({
        ...input('o1'),
        address: { host: '10.0.0.1', port: 80, scheme: 'grpc' },
        metadata: { a: 'b' },
        tags: [],
        weight: 1,
        zone: '',
        version: '',
        status: 'UP',
        health: { status: 'passing', reason: '', checked_at: '' },
        registered_at: '',
        lease: '1',
        ttl: 10,
        check: null,
      }),
    ) as unknown;
    expect(value).toEqual({ Op: 0, Addr: '10.0.0.1:80', Metadata: { a: 'b', id: 'o1', scheme: 'grpc' } });
  });
});

describe('validation', () => {
  const bad = (extra: object, message: RegExp) => {
    let error: unknown;
    try {
      validateRegister({ ...input('o1'), ...extra } as Parameters<typeof validateRegister>[0]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).kind).toBe('invalid');
    expect((error as RegistryError).message).toMatch(message);
  };

  it('names the field and the rule it breaks', () => {
    bad({ service: '' }, /service name is required/);
    bad({ service: 'a/b' }, /service name "a\/b" is invalid/);
    bad({ address: { host: '', port: 80 } }, /invalid address/);
    bad({ address: { host: 'h', port: 0 } }, /port 0/);
    bad({ ttl: 0 }, /ttl 0 is out of range/);
    bad({ ttl: 3601 }, /ttl 3601 is out of range/);
    bad({ check: { type: 'icmp' } }, /check.type/);
    bad({ check: { type: 'http', interval_ms: 10 } }, /interval_ms/);
    expect(validateRegister(input('o1'))).toBe(10);
  });
});

describe('registry over an EtcdPort', () => {
  it('writes only the record by default (no etcd naming entry); update and deregister too', async () => {
    const { registry, local } = await startRegistry();
    const first = await registry.register(caller, { ...input('o1'), ttl: 30 });
    const ref = { namespace: 'default', service: 'orders', id: 'o1' };
    await registry.update(caller, { ...ref, metadata: { k: 'v' } });
    const everything = await local.port.range(ctx, { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) });
    expect(everything.kvs.map((kv) => kv.key.toString())).toEqual(['/cairn/registry/default/orders/o1']);
    const ttl = await local.port.leaseTimeToLive(ctx, BigInt(first.lease), { keys: true });
    expect(ttl?.keys.map(String)).toEqual(['/cairn/registry/default/orders/o1']);
    await registry.deregister(caller, ref);
    expect((await local.port.range(ctx, { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) })).kvs).toEqual(
      [],
    );
    expect(await local.port.leaseTimeToLive(ctx, BigInt(first.lease))).toBeUndefined();
  });

  it('deregister removes a naming entry left from when they were written (the flag turned off since)', async () => {
    const withNaming = await startRegistry({ etcdNaming: true });
    await withNaming.registry.register(caller, { ...input('o1'), ttl: 30 });
    const without = new Registry({ port: withNaming.local.port });
    await without.deregister(caller, { namespace: 'default', service: 'orders', id: 'o1' });
    const left = await withNaming.local.port.range(ctx, {
      key: Buffer.from([0]),
      rangeEnd: Buffer.from([0]),
    });
    expect(left.kvs).toEqual([]);
    without.close();
  });

  it('with etcdNaming: registers both keys in one revision on the lease; re-register keeps the lease; deregister removes both', async () => {
    const { registry, local } = await startRegistry({ etcdNaming: true });
    const first = await registry.register(caller, { ...input('o1'), ttl: 30 });
    const record = await getKv(local, '/cairn/registry/default/orders/o1');
    const naming = await getKv(local, '/cairn/registry/default/~naming/orders/o1');
    expect(record!.lease.toString()).toBe(first.lease);
    expect(naming!.lease.toString()).toBe(first.lease);
    expect(record!.modRevision).toBe(Number(first.revision));
    expect(naming!.modRevision).toBe(Number(first.revision));
    // Written as the caller (the Raft entry header's user), who the record names; every key it wrote is
    // inside the namespace's own prefix, so one grant on /cairn/registry/default/ covers it.
    expect(local.lastWriter).toBe('tester');
    expect(first.instance.registered_by).toBe('tester');
    const everything = await local.port.range(ctx, { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) });
    expect(everything.kvs.map((kv) => kv.key.toString())).toEqual([
      '/cairn/registry/default/orders/o1',
      '/cairn/registry/default/~naming/orders/o1',
    ]);

    const again = await registry.register(caller, { ...input('o1'), ttl: 30, tags: ['x'] });
    expect(again.lease).toBe(first.lease);
    expect(again.instance.registered_at).toBe(first.instance.registered_at);
    expect(again.instance.tags).toEqual(['x']);

    await registry.deregister(caller, { namespace: 'default', service: 'orders', id: 'o1' });
    expect(await getKv(local, '/cairn/registry/default/orders/o1')).toBeUndefined();
    expect(await getKv(local, '/cairn/registry/default/~naming/orders/o1')).toBeUndefined();
    expect(await local.port.leaseTimeToLive(ctx, BigInt(first.lease))).toBeUndefined();
    await expect(
      registry.get(caller, { namespace: 'default', service: 'orders', id: 'o1' }),
    ).rejects.toMatchObject({
      kind: 'not-found',
    });
  });

  it('re-register with another TTL moves the instance to a new lease and revokes the old one', async () => {
    const { registry, local } = await startRegistry();
    const first = await registry.register(caller, { ...input('o1'), ttl: 30 });
    const second = await registry.register(caller, { ...input('o1'), ttl: 60 });
    expect(second.lease).not.toBe(first.lease);
    expect(await local.port.leaseTimeToLive(ctx, BigInt(first.lease))).toBeUndefined();
    expect((await getKv(local, '/cairn/registry/default/orders/o1'))!.lease.toString()).toBe(second.lease);
  });

  it('heartbeat renews the lease and last_heartbeat follows it; a missing instance is not-found', async () => {
    const { registry, advance } = await startRegistry();
    const registered = await registry.register(caller, { ...input('o1'), ttl: 10 });
    const ref = { namespace: 'default', service: 'orders', id: 'o1' };
    expect(registered.instance.last_heartbeat).not.toBe('');
    advance(4000);
    const before = await registry.get(caller, ref);
    // 4 s of the 10 s TTL are used up: the last heartbeat was 4 s ago (wall clock, to the second).
    expect(Date.now() - Date.parse(before.last_heartbeat)).toBeGreaterThanOrEqual(3000);
    const beat = await registry.heartbeat(caller, ref);
    expect(beat).toEqual({ lease: registered.lease, ttl: 10 });
    const after = await registry.get(caller, ref);
    expect(Math.abs(Date.now() - Date.parse(after.last_heartbeat))).toBeLessThan(1500);
    await expect(registry.heartbeat(caller, { ...ref, id: 'nope' })).rejects.toMatchObject({
      kind: 'not-found',
    });
  });

  it('lists namespaces, services (with healthy counts) and instances with filters', async () => {
    const { registry } = await startRegistry();
    await registry.register(caller, input('o1', { tags: ['blue'], zone: 'z1' }));
    await registry.register(caller, input('o2', { tags: ['green'], zone: 'z2' }));
    await registry.register(caller, { ...input('p1'), service: 'payments' });
    await registry.register(caller, { ...input('x1'), namespace: 'prod' });
    await registry.update(caller, { namespace: 'default', service: 'orders', id: 'o2', status: 'DOWN' });

    expect(await registry.listNamespaces(caller)).toEqual(['default', 'prod']);
    const services = await registry.listServices(caller, 'default');
    expect(services.services.map((s) => [s.name, s.total])).toEqual([
      ['orders', 2],
      ['payments', 1],
    ]);
    const all = await registry.listInstances(caller, 'default', 'orders');
    expect(all.instances.map((i) => i.id)).toEqual(['o1', 'o2']);
    expect(all.instances.every((i) => i.last_heartbeat !== '')).toBe(true);
    expect(Number(all.revision)).toBeGreaterThanOrEqual(Number(all.instances[1]!.mod_revision));
    expect(
      (await registry.listInstances(caller, 'default', 'orders', { tag: 'blue' })).instances.map((i) => i.id),
    ).toEqual(['o1']);
    expect(
      (await registry.listInstances(caller, 'default', 'orders', { zone: 'z2' })).instances.map((i) => i.id),
    ).toEqual(['o2']);
  });

  it('an instance whose lease runs out disappears (both keys) and its watchers hear "removed"', async () => {
    const { registry, local, advance } = await startRegistry();
    await registry.register(caller, { ...input('o1'), ttl: 5 });
    await registry.register(caller, { ...input('o2'), ttl: 60 });
    const { next } = collect(registry, { namespace: 'default', service: 'orders' });
    await next(1);
    advance(3000);
    expect(await local.expireLeases()).toEqual([]);
    await registry.heartbeat(caller, { namespace: 'default', service: 'orders', id: 'o2' });
    advance(2500);
    expect(await local.expireLeases()).toHaveLength(1);
    const events = await next(2);
    expect(events[1]).toMatchObject({ type: 'removed', instance: { id: 'o1' } });
    expect(await getKv(local, '/cairn/registry/default/~naming/orders/o1')).toBeUndefined();
    const left = await registry.listInstances(caller, 'default', 'orders');
    expect(left.instances.map((i) => i.id)).toEqual(['o2']);
  });

  it('watch: snapshot, then added/updated/removed in revision order', async () => {
    const { registry } = await startRegistry();
    await registry.register(caller, input('o1'));
    const { watch, next } = collect(registry, { namespace: 'default', service: 'orders' });
    await next(1);
    const added = await registry.register(caller, input('o2'));
    const updated = await registry.update(caller, {
      namespace: 'default',
      service: 'orders',
      id: 'o1',
      status: 'DRAINING',
    });
    const removed = await registry.deregister(caller, { namespace: 'default', service: 'orders', id: 'o2' });
    const events = await next(4);
    watch.close();
    expect(events.map((e) => [e.type, e.revision])).toEqual([
      ['snapshot', String(Number(added.revision) - 1)],
      ['added', added.revision],
      ['updated', updated.mod_revision],
      ['removed', removed.revision],
    ]);
    expect(events[0]!.instances!.map((i) => i.id)).toEqual(['o1']);
    expect(events[1]!.instance!.last_heartbeat).not.toBe('');
  });

  it('watch resumed from a revision replays exactly the changes since then', async () => {
    const { registry } = await startRegistry();
    const r1 = await registry.register(caller, input('o1'));
    const r2 = await registry.register(caller, input('o2'));
    const r3 = await registry.deregister(caller, { namespace: 'default', service: 'orders', id: 'o1' });
    const { events, next } = collect(registry, {
      namespace: 'default',
      service: 'orders',
      startRevision: Number(r1.revision) + 1,
    });
    await next(2);
    const r4 = await registry.register(caller, input('o3'));
    await next(3);
    expect(events.map((e) => [e.type, e.revision, e.instance?.id])).toEqual([
      ['added', r2.revision, 'o2'],
      ['removed', r3.revision, 'o1'],
      ['added', r4.revision, 'o3'],
    ]);
  });

  /** A consumer the test fills and drains by hand (as an SSE stream past its bound, then read again). */
  function manualFlow() {
    let room = true;
    let wake: () => void = () => undefined;
    return {
      get writable() {
        return room;
      },
      closed: false,
      drained: () => new Promise<void>((resolve) => (wake = resolve)),
      fill() {
        room = false;
      },
      drain() {
        room = true;
        wake();
      },
    };
  }

  it('a full consumer parks the watch (nothing is sent); drained, it gets every change in order', async () => {
    const { registry } = await startRegistry();
    await registry.register(caller, input('o1'));
    const flow = manualFlow();
    const events: RegistryWatchEvent[] = [];
    const watch = registry.watch(
      caller,
      { namespace: 'default', service: 'orders' },
      (e) => events.push(e),
      flow,
    );
    await vi.waitFor(() => expect(events).toHaveLength(1), { timeout: 3000, interval: 5 });
    flow.fill();
    const written: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await registry.update(caller, {
        namespace: 'default',
        service: 'orders',
        id: 'o1',
        metadata: { n: `${i}` },
      });
      written.push(r.mod_revision);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events, 'events sent while the consumer was full').toHaveLength(1);
    flow.drain();
    await vi.waitFor(() => expect(events).toHaveLength(21), { timeout: 3000, interval: 5 });
    expect(events.slice(1).map((e) => [e.type, e.revision])).toEqual(written.map((r) => ['updated', r]));
    watch.close();
  });

  it('a watch parked past a compaction of its revision resumes with a fresh snapshot', async () => {
    const { registry, local } = await startRegistry();
    await registry.register(caller, input('o1'));
    const flow = manualFlow();
    const events: RegistryWatchEvent[] = [];
    const watch = registry.watch(
      caller,
      { namespace: 'default', service: 'orders' },
      (e) => events.push(e),
      flow,
    );
    await vi.waitFor(() => expect(events).toHaveLength(1), { timeout: 3000, interval: 5 });
    flow.fill();
    for (let i = 0; i < 3; i++) {
      await registry.update(caller, {
        namespace: 'default',
        service: 'orders',
        id: 'o1',
        metadata: { n: `${i}` },
      });
    }
    const last = await registry.register(caller, input('o2'));
    await local.compact(Number(last.revision));
    await new Promise((resolve) => setTimeout(resolve, 50));
    flow.drain();
    // The first change was parked in the store: it comes, then the compaction of the revisions after it
    // (compacting at `last` keeps only `last`) turns into a fresh snapshot.
    expect(events).toHaveLength(1);
    await vi.waitFor(() => expect(events.filter((e) => e.type === 'snapshot')).toHaveLength(2), {
      timeout: 3000,
      interval: 5,
    });
    expect(events.at(-1)?.type).toBe('snapshot');
    const snapshot = events.at(-1)!;
    expect(snapshot.instances!.map((i) => i.id).sort()).toEqual(['o1', 'o2']);
    expect(Number(snapshot.revision)).toBeGreaterThanOrEqual(Number(last.revision));
    watch.close();
  });

  it('a watch whose start revision was compacted gets a fresh snapshot, then changes', async () => {
    const { registry, local } = await startRegistry();
    await registry.register(caller, input('o1'));
    const r2 = await registry.register(caller, input('o2'));
    const removed = await registry.deregister(caller, { namespace: 'default', service: 'orders', id: 'o2' });
    await local.compact(Number(removed.revision));
    const { events, next } = collect(registry, { namespace: 'default', service: 'orders', startRevision: 2 });
    await next(1);
    expect(events[0]!.type).toBe('snapshot');
    expect(events[0]!.instances!.map((i) => i.id)).toEqual(['o1']);
    expect(Number(events[0]!.revision)).toBeGreaterThan(Number(r2.revision));
    const later = await registry.register(caller, input('o4'));
    await next(2);
    expect(events[1]).toMatchObject({ type: 'added', revision: later.revision, instance: { id: 'o4' } });
  });

  it('health checker: warning on the first failure, critical after N, passing after M successes', async () => {
    const { registry } = await startRegistry();
    const results: boolean[] = [true, true, false, false, false, true, true];
    const checker = new HealthChecker(registry, {
      probes: {
        http: (): Promise<ProbeResult> => {
          const ok = results.length > 0 ? results.shift()! : true;
          return Promise.resolve({ ok, reason: ok ? 'ok' : 'boom' });
        },
      },
    });
    const seen: string[] = [];
    const watch = registry.watch(caller, { namespace: 'default', service: 'orders' }, (e) => {
      if (e.instance) seen.push(e.instance.health.status);
    });
    checker.start();
    await registry.register(
      caller,
      input('o1', {
        check: { type: 'http', interval_ms: 100, failures_before_critical: 3, successes_before_passing: 2 },
      }),
    );
    for (let i = 0; i < 300 && (results.length > 0 || seen[seen.length - 1] !== 'passing'); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    checker.close();
    watch.close();
    expect(seen).toEqual(['warning', 'passing', 'warning', 'critical', 'passing']);
  });
});
