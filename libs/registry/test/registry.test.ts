// The registry core over a real in-process single-member CairnNode (temp data dir): keys and naming
// values, validation, one-txn registration, idempotent re-register, the watch's snapshot/events/compaction
// re-snapshot, and the health checker's flap damping with injected probes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CairnNode, type NodeConfig, createEtcdApis, silentLogger } from '@cairn/server';
import { afterEach, describe, expect, it } from 'vitest';
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

async function startRegistry(): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-registry-'));
  const url = 'http://127.0.0.1:12390';
  const config: NodeConfig = {
    name: 'r1',
    dataDir: dir,
    initialCluster: [{ name: 'r1', peerUrls: [url] }],
    initialClusterState: 'new',
    initialClusterToken: 'registry-test',
    advertisePeerUrls: [url],
    advertiseClientUrls: ['http://127.0.0.1:12389'],
    heartbeatIntervalMs: 20,
    electionTimeoutMs: 200,
    snapshotCount: 10_000,
    snapshotCatchUpEntries: 10,
    quotaBackendBytes: 2 * 1024 * 1024 * 1024,
    maxRequestBytes: 1.5 * 1024 * 1024,
    maxTxnOps: 128,
    autoCompactionMode: 'periodic',
    autoCompactionRetention: '0',
    logger: silentLogger,
  };
  const node = await CairnNode.start(config);
  const registry = new Registry({ node, apis: createEtcdApis(node, 128) });
  cleanups.push(async () => {
    registry.close();
    await node.close();
    await rm(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 200 && !node.isLeader(); i++) await new Promise((r) => setTimeout(r, 20));
  return registry;
}

const input = (id: string, extra: object = {}) => ({
  namespace: 'default',
  service: 'orders',
  id,
  address: { host: '10.0.0.1', port: 80 },
  ...extra,
});

describe('keys and naming', () => {
  it('places records under <root><ns>/<service>/<id> and naming keys under <prefix><service>/<id>', () => {
    const keys = new RegistryKeys('/cairn/registry/', '/names/');
    expect(keys.instanceKey('default', 'orders', 'o1')).toBe('/cairn/registry/default/orders/o1');
    expect(keys.namingKey('default', 'orders', 'o1')).toBe('/names/orders/o1');
    expect(keys.namingKey('prod', 'orders', 'o1')).toBe('/names/prod/orders/o1');
    expect(keys.parse('/cairn/registry/default/orders/o1')).toEqual({
      namespace: 'default',
      service: 'orders',
      id: 'o1',
    });
    expect(keys.parse('/cairn/registry/default/orders')).toBeUndefined();
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

describe('registry over a node', () => {
  it('registers both keys in one revision on the lease; re-register keeps the lease; deregister removes both', async () => {
    const registry = await startRegistry();
    const first = await registry.register({ ...input('o1'), ttl: 30 });
    const record = await registry.kv.get('/cairn/registry/default/orders/o1');
    const naming = await registry.kv.get('/cairn/naming/orders/o1');
    expect(String(record.kv!.lease)).toBe(first.lease);
    expect(String(naming.kv!.lease)).toBe(first.lease);
    expect(Number(record.kv!.mod_revision)).toBe(Number(first.revision));
    expect(Number(naming.kv!.mod_revision)).toBe(Number(first.revision));

    const again = await registry.register({ ...input('o1'), ttl: 30, tags: ['x'] });
    expect(again.lease).toBe(first.lease);
    expect(again.instance.registered_at).toBe(first.instance.registered_at);
    expect(again.instance.tags).toEqual(['x']);

    await registry.deregister({ namespace: 'default', service: 'orders', id: 'o1' });
    expect((await registry.kv.get('/cairn/registry/default/orders/o1')).kv).toBeUndefined();
    expect((await registry.kv.get('/cairn/naming/orders/o1')).kv).toBeUndefined();
    expect(registry.node.leases.has(BigInt(first.lease))).toBe(false);
    await expect(registry.get({ namespace: 'default', service: 'orders', id: 'o1' })).rejects.toMatchObject({
      kind: 'not-found',
    });
  });

  it('watch: snapshot, then added/updated/removed; a compacted start revision gets a snapshot', async () => {
    const registry = await startRegistry();
    await registry.register(input('o1'));
    const events: RegistryWatchEvent[] = [];
    const watch = registry.watch({ namespace: 'default', service: 'orders' }, (e) => events.push(e));
    const waitEvents = async (n: number) => {
      for (let i = 0; i < 100 && events.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    };
    await waitEvents(1);
    const added = await registry.register(input('o2'));
    const updated = await registry.update({
      namespace: 'default',
      service: 'orders',
      id: 'o1',
      status: 'DRAINING',
    });
    const removed = await registry.deregister({ namespace: 'default', service: 'orders', id: 'o2' });
    await waitEvents(4);
    watch.close();
    expect(events.map((e) => [e.type, e.revision])).toEqual([
      ['snapshot', String(Number(added.revision) - 1)],
      ['added', added.revision],
      ['updated', updated.mod_revision],
      ['removed', removed.revision],
    ]);

    await registry.options.apis.kv.compact({ revision: removed.revision, physical: false });
    const late: RegistryWatchEvent[] = [];
    const resumed = registry.watch({ namespace: 'default', service: 'orders', startRevision: 2 }, (e) =>
      late.push(e),
    );
    for (let i = 0; i < 100 && late.length < 1; i++) await new Promise((r) => setTimeout(r, 10));
    resumed.close();
    expect(late[0]!.type).toBe('snapshot');
    expect(late[0]!.instances!.map((i) => i.id)).toEqual(['o1']);
  });

  it('health checker: warning on the first failure, critical after N, passing after M successes', async () => {
    const registry = await startRegistry();
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
    const watch = registry.watch({ namespace: 'default', service: 'orders' }, (e) => {
      if (e.instance) seen.push(e.instance.health.status);
    });
    checker.start();
    await registry.register(
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
