// Server-side health checks on a real member: an HTTP check flips an instance to critical only after
// failures_before_critical failed probes (warning before that) and back to passing only after
// successes_before_passing good ones; TCP and gRPC checks; deregister_critical_after removes an instance
// that stays critical; checks run on the leader of a 3-member cluster and move with leadership.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allocatePort,
  cleanupAll,
  killMember,
  startCluster,
  startMember,
  waitFor,
  type Member,
} from '../support';
import { rest, type SseEvent, readSse } from './helpers';

let member: Member;
let target: Server;
let targetPort = 0;
let healthy = true;
const probes: { at: number; ok: boolean }[] = [];

beforeAll(async () => {
  member = await startMember();
  target = createServer((req, res) => {
    probes.push({ at: Date.now(), ok: healthy });
    res.writeHead(healthy ? 200 : 500);
    res.end();
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetPort = (target.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => target?.close(() => resolve()));
  await cleanupAll();
});

type Health = { status: string; reason: string; checked_at: string };

async function healthOf(m: Member, service: string, id: string): Promise<Health | undefined> {
  const r = await rest<{ health: Health }>(
    m,
    'GET',
    `/namespaces/default/services/${service}/instances/${id}`,
  );
  return r.status === 200 ? r.body.health : undefined;
}

describe('health checks', () => {
  it('HTTP: critical after N failures (warning before), passing again after M successes', async () => {
    const stream = readSse(`${member.clientUrl}/api/registry/v1/namespaces/default/services/web/watch`);
    // Subscribed before the registration: else a slow connect sees the instance already passing in its snapshot.
    await waitFor(async () => (stream.events.some((e) => e.event === 'snapshot') ? true : undefined), {
      timeoutMs: 5000,
      what: "the watch's snapshot",
    });
    const registered = await rest(member, 'PUT', '/namespaces/default/services/web/instances/w1', {
      address: { host: '127.0.0.1', port: targetPort },
      ttl: 60,
      check: {
        type: 'http',
        target: '/health',
        interval_ms: 150,
        timeout_ms: 1000,
        failures_before_critical: 3,
        successes_before_passing: 2,
      },
    });
    expect(registered.status).toBe(200);
    await waitFor(
      async () => ((await healthOf(member, 'web', 'w1'))?.status === 'passing' ? true : undefined),
      {
        timeoutMs: 5000,
        what: 'passing after the first good probe',
      },
    );

    healthy = false;
    const failedFrom = probes.length;
    const critical = await waitFor(
      async () => {
        const h = await healthOf(member, 'web', 'w1');
        return h?.status === 'critical' ? h : undefined;
      },
      { timeoutMs: 10_000, what: 'critical' },
    );
    expect(critical.reason).toMatch(/HTTP GET .*\/health: 500/);
    expect(critical.checked_at).not.toBe('');
    healthy = true;
    const recoveredFrom = probes.length;
    await waitFor(
      async () => ((await healthOf(member, 'web', 'w1'))?.status === 'passing' ? true : undefined),
      {
        timeoutMs: 10_000,
        what: 'passing again',
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    stream.abort();

    const transitions = stream.events
      .filter((e: SseEvent) => e.event !== 'snapshot')
      .map((e) => (e.data['instance'] as { health: Health }).health.status);
    // Registered (warning: no check yet) → passing → warning (1st failure) → critical (3rd) → passing (2nd success).
    expect(transitions).toEqual(['warning', 'passing', 'warning', 'critical', 'passing']);
    // The probes the target answered: critical needed 3 failures, passing needed 2 successes.
    const failing = probes.slice(failedFrom, recoveredFrom).filter((p) => !p.ok).length;
    expect(failing).toBeGreaterThanOrEqual(3);
    const critEvent = stream.events.find(
      (e) => (e.data['instance'] as { health?: Health } | undefined)?.health?.status === 'critical',
    )!;
    const passEvent = stream.events[stream.events.length - 1]!;
    expect(Number(passEvent.id)).toBeGreaterThan(Number(critEvent.id));
    const services = await rest<{ services: { name: string; healthy: number }[] }>(
      member,
      'GET',
      '/namespaces/default/services',
    );
    expect(services.body.services.find((s) => s.name === 'web')).toEqual({
      name: 'web',
      healthy: 1,
      total: 1,
    });
    await rest(member, 'DELETE', '/namespaces/default/services/web/instances/w1');
  });

  it('TCP and gRPC checks: a closed port goes critical; a gRPC server answering SERVING passes', async () => {
    const closed = await allocatePort();
    const check = (type: string, port: number) => ({
      address: { host: '127.0.0.1', port },
      check: { type, interval_ms: 150, timeout_ms: 500, failures_before_critical: 1 },
    });
    await rest(member, 'PUT', '/namespaces/default/services/tcp/instances/t1', check('tcp', closed));
    await rest(member, 'PUT', '/namespaces/default/services/tcp/instances/t2', check('tcp', targetPort));
    // The Cairn member itself serves grpc.health.v1.
    await rest(
      member,
      'PUT',
      '/namespaces/default/services/grpc/instances/g1',
      check('grpc', Number(new URL(member.clientUrl).port)),
    );
    const statusOf = (service: string, id: string) => async () =>
      (await healthOf(member, service, id))?.status;
    await waitFor(async () => ((await statusOf('tcp', 't1')()) === 'critical' ? true : undefined), {
      timeoutMs: 5000,
      what: 't1 critical',
    });
    await waitFor(async () => ((await statusOf('tcp', 't2')()) === 'passing' ? true : undefined), {
      timeoutMs: 5000,
      what: 't2 passing',
    });
    await waitFor(async () => ((await statusOf('grpc', 'g1')()) === 'passing' ? true : undefined), {
      timeoutMs: 5000,
      what: 'g1 passing',
    });
    expect((await healthOf(member, 'tcp', 't1'))!.reason).toMatch(/ECONNREFUSED/);
    const critical = await rest<{ instances: { id: string }[] }>(
      member,
      'GET',
      '/namespaces/default/services/tcp/instances?health=critical',
    );
    expect(critical.body.instances.map((i) => i.id)).toEqual(['t1']);
  });

  it('deregister_critical_after removes an instance that stays critical', async () => {
    const closed = await allocatePort();
    await rest(member, 'PUT', '/namespaces/default/services/doomed/instances/d1', {
      address: { host: '127.0.0.1', port: closed },
      ttl: 60,
      check: { type: 'tcp', interval_ms: 150, timeout_ms: 300, deregister_critical_after_ms: 600 },
    });
    await waitFor(
      async () =>
        (await rest(member, 'GET', '/namespaces/default/services/doomed/instances/d1')).status === 404
          ? true
          : undefined,
      { timeoutMs: 10_000, what: 'the critical instance to be deregistered' },
    );
  });
});

describe('health checks in a cluster', () => {
  it('run on the leader only and move to the new leader when it dies', async () => {
    const members = await startCluster({ size: 3 });
    const leaderOf = async (): Promise<Member | undefined> => {
      for (const m of members) {
        if (!m.running) continue;
        const metrics = await fetch(`${m.clientUrl}/metrics`).then(
          (r) => r.text(),
          () => '',
        );
        if (/^etcd_server_is_leader 1$/m.test(metrics)) return m;
      }
      return undefined;
    };
    const leader = await waitFor(leaderOf, { timeoutMs: 10_000, what: 'a leader' });
    const follower = members.find((m) => m !== leader)!;
    await rest(follower, 'PUT', '/namespaces/default/services/ha/instances/h1', {
      address: { host: '127.0.0.1', port: targetPort },
      ttl: 60,
      check: { type: 'http', interval_ms: 150, timeout_ms: 500 },
    });
    await waitFor(
      async () => ((await healthOf(follower, 'ha', 'h1'))?.status === 'passing' ? true : undefined),
      {
        timeoutMs: 10_000,
        what: 'passing',
      },
    );
    // Only one member probes: the probe rate matches one checker.
    const before = probes.length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const rate = probes.length - before;
    expect(rate).toBeLessThanOrEqual(12); // ~10 at 150 ms from one checker; three would make ~30

    await killMember(leader);
    const survivor = members.find((m) => m !== leader && m.running)!;
    await waitFor(async () => ((await leaderOf()) ? true : undefined), {
      timeoutMs: 15_000,
      what: 'a new leader',
    });
    healthy = false;
    try {
      await waitFor(
        async () => ((await healthOf(survivor, 'ha', 'h1'))?.status === 'critical' ? true : undefined),
        {
          timeoutMs: 15_000,
          what: 'the new leader to run the check',
        },
      );
    } finally {
      healthy = true;
    }
  }, 90_000);
});
