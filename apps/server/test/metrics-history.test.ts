// The metrics history behind the console's charts: the sampler's ring and p99 (unit), then one member in
// process: GET /api/metrics/v1/history counts gRPC puts by type, registry instances and config publishes;
// with auth enabled it and the console's /api/console/v1/metrics answer 401 without a token and 200 to any
// authenticated user.
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadEtcdServices } from '@cairn/api';
import type { CairnNode } from '@cairn/server';
import { silentLogger } from '@cairn/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningCairn, startCairn } from '../src/cairn-app';
import { readFlags } from '../src/config/flags';
import { toSettings } from '../src/config/settings';
import { HISTORY_CAPACITY, MetricsSampler, requestType } from '../src/metrics-history/metrics-sampler';
import type { MemberMetricsHistory, MetricsHistory } from '../src/metrics-history/history-types';

describe('the sampler', () => {
  const fakeNode = (): CairnNode => {
    const stats = { proposalsCommitted: 0, proposalsApplied: 0, leaderChanges: 1 };
    return {
      stats,
      dbSizeBytes: 4096,
      config: { quotaBackendBytes: 1 << 20 },
      watchable: { stats: { synced: 2, unsynced: 0, victims: 0 } },
      leases: { leases: () => [1n] },
    } as unknown as CairnNode;
  };
  const member = { memberId: '1', name: 'm' };

  it('classifies gRPC methods by type; HTTP routes are other', () => {
    expect(requestType('grpc', 'etcdserverpb.KV/Range')).toBe('Range');
    expect(requestType('grpc', 'etcdserverpb.KV/Txn')).toBe('Txn');
    expect(requestType('grpc', 'etcdserverpb.Lease/LeaseKeepAlive')).toBe('Lease');
    expect(requestType('grpc', 'etcdserverpb.KV/DeleteRange')).toBe('Other');
    expect(requestType('http', 'POST /v3/*path')).toBe('Other');
  });

  it('keeps at most 15 minutes, oldest first, and answers only samples after `since`', () => {
    const sampler = new MetricsSampler();
    const node = fakeNode();
    sampler.start(node, {
      instances: () => ({ passing: 1, warning: 0, critical: 2 }),
      configPublishes: () => 0,
    });
    sampler.stop();
    for (let i = 1; i <= HISTORY_CAPACITY + 10; i++) {
      node.stats.proposalsCommitted += 3;
      sampler.sample(i * 1000);
    }
    const all = sampler.history(member);
    expect(all.t).toHaveLength(HISTORY_CAPACITY);
    expect(all.t[0]).toBe(11_000);
    expect(all.t.at(-1)).toBe((HISTORY_CAPACITY + 10) * 1000);
    expect(all.series.proposalsCommitted.at(-1)).toBe(3);
    expect(all.series.instancesCritical.at(-1)).toBe(2);
    expect(all.series.dbQuotaBytes.at(-1)).toBe(1 << 20);
    const recent = sampler.history(member, (HISTORY_CAPACITY + 8) * 1000);
    expect(recent.t).toEqual([(HISTORY_CAPACITY + 9) * 1000, (HISTORY_CAPACITY + 10) * 1000]);
  });

  it("reports the second's fsync p99 in ms as histogram_quantile interpolates it, null when none", () => {
    const sampler = new MetricsSampler();
    sampler.start(fakeNode(), {
      instances: () => ({ passing: 0, warning: 0, critical: 0 }),
      configPublishes: () => 0,
    });
    sampler.stop();
    for (let i = 0; i < 100; i++) sampler.observe('wal_fsync', 0.0015); // all in the (1 ms, 2 ms] bucket
    sampler.sample(1000);
    sampler.sample(2000);
    const { series } = sampler.history(member);
    expect(series.walFsyncP99Ms[0]).toBeCloseTo(1.99, 5);
    expect(series.walFsyncP99Ms[1]).toBeNull();
    expect(series.backendCommitP99Ms[0]).toBeNull();
  });
});

describe('GET /api/metrics/v1/history on a member', () => {
  let app: RunningCairn;
  let dir: string;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-history-'));
    const flags = readFlags(
      [
        '--name=h1',
        `--data-dir=${dir}`,
        '--listen-client-urls=http://127.0.0.1:0',
        '--advertise-client-urls=http://127.0.0.1:0',
        '--listen-peer-urls=http://127.0.0.1:0',
        '--initial-advertise-peer-urls=http://127.0.0.1:12398',
        '--initial-cluster=h1=http://127.0.0.1:12398',
      ],
      {},
    );
    app = await startCairn(toSettings(flags), silentLogger);
    url = app.clientUrls[0]!;
    await vi.waitFor(() => expect(app.node.isLeader()).toBe(true), { timeout: 10_000 });
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const get = async <T>(path: string, token?: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: (await res.json()) as T };
  };
  const gw = async <T>(path: string, body: object, token?: string): Promise<T> => {
    const res = await fetch(`${url}/v3/${path}`, {
      method: 'POST',
      headers: token ? { authorization: token } : {},
      body: JSON.stringify(body),
    });
    expect(res.status, `${path}: ${res.status}`).toBe(200);
    return (await res.json()) as T;
  };

  it('counts gRPC puts in the second they happen and the proposals they make', async () => {
    const pkg = loadEtcdServices();
    const kv = new pkg.etcdserverpb.KV(
      url.replace('http://', ''),
      grpc.credentials.createInsecure(),
    ) as unknown as grpc.Client & Record<string, (req: object, cb: (err: Error | null) => void) => void>;
    try {
      for (let i = 0; i < 20; i++) {
        await new Promise<void>((resolve, reject) =>
          kv['Put']!.bind(kv)({ key: Buffer.from(`h/${i}`), value: Buffer.from('v') }, (err) =>
            err ? reject(err) : resolve(),
          ),
        );
      }
    } finally {
      kv.close();
    }
    const since = Date.now() - 60_000;
    await vi.waitFor(
      async () => {
        const { status, body } = await get<MetricsHistory>(`/api/metrics/v1/history?since=${since}`);
        expect(status).toBe(200);
        expect(body.name).toBe('h1');
        expect(body.series.requestsPut.reduce<number>((a, b) => a + (b ?? 0), 0)).toBe(20);
        expect(body.series.proposalsApplied.reduce<number>((a, b) => a + (b ?? 0), 0)).toBeGreaterThanOrEqual(
          20,
        );
        expect(body.series.walFsyncP99Ms.some((v) => v !== null && v > 0)).toBe(true);
        expect(body.t.length).toBe(body.series.dbSizeBytes.length);
      },
      { timeout: 5000, interval: 250 },
    );
    expect((await get<{ message: string }>('/api/metrics/v1/history?since=-1')).status).toBe(400);
  });

  it('counts registry instances by health and config publishes from the store', async () => {
    const rest = async (method: string, path: string, body: object): Promise<void> => {
      const res = await fetch(`${url}/api${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status, `${method} ${path}: ${await res.text()}`).toBeLessThan(300);
    };
    await rest('PUT', '/registry/v1/namespaces/default/services/orders/instances/o1', {
      address: { host: '127.0.0.1', port: 8080 },
      ttl: 30,
    });
    const item = '/config/v1/namespaces/shop/apps/web/items/app.json';
    await rest('PUT', '/config/v1/namespaces/shop', {});
    await rest('PUT', '/config/v1/namespaces/shop/apps/web', {});
    await rest('PUT', item, { format: 'json' });
    await rest('POST', `${item}/publish`, { content: '{"a":1}' });
    await rest('POST', `${item}/publish`, { content: '{"a":2}' });
    await vi.waitFor(
      async () => {
        const { body } = await get<MetricsHistory>('/api/metrics/v1/history');
        const last = (name: keyof MetricsHistory['series']) => body.series[name].at(-1);
        expect((last('instancesPassing') ?? 0) + (last('instancesWarning') ?? 0)).toBe(1);
        expect(last('instancesCritical')).toBe(0);
        expect(body.series.configPublishes.reduce<number>((a, b) => a + (b ?? 0), 0)).toBe(2);
      },
      { timeout: 5000, interval: 250 },
    );
  });

  it('with auth enabled: 401 without a token, 200 for any user, on the member and through the console', async () => {
    await gw('auth/user/add', { name: 'root', password: 'root-pw' });
    await gw('auth/user/grant', { user: 'root', role: 'root' });
    await gw('auth/user/add', { name: 'nobody', password: 'nobody-pw' }); // no role at all
    await gw('auth/enable', {});
    const { token } = await gw<{ token: string }>('auth/authenticate', {
      name: 'nobody',
      password: 'nobody-pw',
    });
    const self = app.node.memberId.toString(16).padStart(16, '0');
    try {
      const anonymous = await get<{ error: string }>('/api/metrics/v1/history');
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.error).toBe('etcdserver: user name is empty');
      expect((await get(`/api/console/v1/metrics?member=${self}`)).status).toBe(401);
      expect((await get('/api/metrics/v1/history', 'bogus.1')).status).toBe(401);
      const allowed = await get<MetricsHistory>('/api/metrics/v1/history', token);
      expect(allowed.status).toBe(200);
      expect(allowed.body.t.length).toBeGreaterThan(0);
      const viaConsole = await get<MemberMetricsHistory>(`/api/console/v1/metrics?member=${self}`, token);
      expect(viaConsole.status).toBe(200);
      expect(viaConsole.body.history?.memberId).toBe(self);
      expect((await get(`/api/console/v1/metrics?member=${'0'.repeat(16)}`, token)).status).toBe(404);
    } finally {
      const root = await gw<{ token: string }>('auth/authenticate', { name: 'root', password: 'root-pw' });
      await gw('auth/disable', {}, root.token);
    }
  });
});
