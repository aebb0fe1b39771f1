// `bench registry`: the service registry at scale on a fresh 1- or 3-member Cairn cluster.
//  1. registers N instances (cairn.registry.v1 Register: one lease grant + one txn each) with C in flight;
//  2. keeps every lease alive at TTL/3 (etcd LeaseKeepAlive streams) for a hold window and reads the
//     members' CPU (from /proc) against an idle window of the same length, and their RSS;
//  3. "kills" K instances (stops their keep-alives right after a renewal) and times how long until the
//     last of S SDK subscribers drops each one (≈ TTL + lease-expiry detection + watch propagation);
//  4. deregisters K more and times the same path without the TTL (watch propagation only).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EtcdClient, type LeaseKeepAlive, RegistryClient, type ServiceSubscription } from '@cairn/client';
import type { Command } from '../cli/command';
import { flag, parseFlags } from '../cli/flags';
import { startCluster } from '../servers/cluster';
import { exactPercentile } from '../stats/latency-histogram';

const REPO_ROOT = resolve(__dirname, '../../../..');

const flags = {
  members: flag.int('members in the Cairn cluster', 1),
  instances: flag.int('instances to register', 10_000),
  ttl: flag.int('lease TTL of every instance, seconds', 10),
  concurrency: flag.int('registrations in flight', 128),
  channels: flag.int('gRPC channels the registrations and keep-alives are spread over', 4),
  hold: flag.duration('keep-alive window measured for CPU', 30_000),
  subscribers: flag.int('SDK subscribers following the service', 3, 0),
  kills: flag.int('instances killed (keep-alives stopped) and timed', 10),
  'cairn-bin': flag.string('Cairn launcher', resolve(REPO_ROOT, 'bin/cairn'), 'PATH'),
  'cairn-flags': flag.string('extra flags for every member (space-separated)', '', 'FLAGS'),
  json: flag.bool('print the result as JSON'),
};

const CLK_TCK = 100;

/** utime + stime of a process, seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return kb ? Number(kb[1]) * 1024 : 0;
}

/** Every process in the tree of `pid` (bin/cairn may exec or fork node). */
function treePids(pid: number): number[] {
  const out = [pid];
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const child of children.split(/\s+/).filter(Boolean)) out.push(...treePids(Number(child)));
  } catch {
    // gone
  }
  return out;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (v: number, digits = 1) => v.toFixed(digits);

export const registryCommand: Command = {
  name: 'registry',
  summary: 'register N instances with leases, keep them alive (CPU, RSS), time death → last subscriber',
  flags,
  async run(argv, out) {
    const parsed = parseFlags(argv, flags);
    const baseDir = mkdtempSync(join(tmpdir(), 'cairn-bench-registry-'));
    const cluster = await startCluster({
      label: 'cairn',
      command: parsed['cairn-bin'],
      extraArgs: parsed['cairn-flags'].split(/\s+/).filter((p) => p.length > 0),
      members: parsed.members,
      baseDir,
    });
    const endpoints = cluster.members.map((m) => m.clientUrl);
    const clients = Array.from(
      { length: parsed.channels },
      (_, i) =>
        new EtcdClient({
          // Spread the channels over the members.
          endpoints: [...endpoints.slice(i % endpoints.length), ...endpoints.slice(0, i % endpoints.length)],
          channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
        }),
    );
    const subscribers: { registry: RegistryClient; sub: ServiceSubscription }[] = [];
    const keepers = new Map<string, LeaseKeepAlive>();
    try {
      const pids = () => cluster.pids.flatMap(treePids);
      const cpu = () => sum(pids().map(cpuSeconds));
      const rss = () => sum(pids().map(rssBytes));
      await sleep(1000);
      const rssIdle = rss();
      let c0 = cpu();
      let t0 = Date.now();
      await sleep(Math.min(parsed.hold, 10_000));
      const idleCores = (cpu() - c0) / ((Date.now() - t0) / 1000);

      for (let i = 0; i < parsed.subscribers; i++) {
        const registry = new RegistryClient(
          new EtcdClient({
            endpoints: [endpoints[i % endpoints.length]!],
            channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
          }),
        );
        const sub = registry.subscribe('bench', { emptyProtectionMs: 0 });
        await sub.ready();
        subscribers.push({ registry, sub });
      }

      // 1. Registrations.
      const ttl = parsed.ttl;
      let next = 0;
      let keepalives = 0;
      let failedKeepalives = 0;
      let lostLeases = 0;
      let registerRetries = 0;
      let firstFailure = '';
      const leases = new Map<string, bigint>();
      const started = Date.now();
      c0 = cpu();
      await Promise.all(
        Array.from({ length: parsed.concurrency }, async (_, w) => {
          const client = clients[w % clients.length]!;
          for (;;) {
            const i = next++;
            if (i >= parsed.instances) return;
            const id = `i${String(i).padStart(6, '0')}`;
            const register = () =>
              client.call<object, { lease: string }>('cairn.registry.v1.Registry', 'Register', {
                instance: {
                  namespace: 'default',
                  service: 'bench',
                  id,
                  address: { host: '10.1.0.1', port: 10_000 + (i % 50_000) },
                  metadata: { zone: `z${i % 3}` },
                },
                ttl,
              });
            let res: { lease: string } | undefined;
            for (let attempt = 1; !res; attempt++) {
              try {
                res = await register();
              } catch (err) {
                // A member stalled past the deadline (loaded machine): re-register (idempotent), counted.
                registerRetries++;
                if (attempt >= 5) throw err;
              }
            }
            leases.set(id, BigInt(res.lease));
            // Kept alive from now on: the first leases would expire before the last one is registered.
            const keeper = client.keepAlive(BigInt(res.lease), { intervalMs: Math.floor((ttl * 1000) / 3) });
            keeper.on('keepalive', () => keepalives++);
            keeper.on('failed', (err: unknown) => {
              failedKeepalives++;
              if (firstFailure === '') firstFailure = String(err);
            });
            keeper.on('lost', () => {
              lostLeases++;
              keepers.delete(id);
            });
            keepers.set(id, keeper);
          }
        }),
      );
      const registerSeconds = (Date.now() - started) / 1000;
      const registerCpu = cpu() - c0;
      const registrationsPerSecond = parsed.instances / registerSeconds;
      if (lostLeases > 0) out(`warning: ${lostLeases} leases were lost during the registration phase`);
      out(
        `registered ${parsed.instances} instances in ${fmt(registerSeconds, 2)} s: ${fmt(registrationsPerSecond, 0)} registrations/s (server CPU ${fmt(registerCpu)} s)`,
      );

      // 2. Keep-alives (each started as its registration returned) for the hold window.
      await Promise.all(
        subscribers.map(({ sub }, i) =>
          waitUntil(() => sub.instances().length === parsed.instances - lostLeases, 120_000).catch(
            (err: unknown) => {
              throw new Error(
                `subscriber ${i} sees ${sub.instances().length} of ${parsed.instances} (keep-alives ok ${keepalives}, failed ${failedKeepalives}, leases lost ${lostLeases}, first failure: ${firstFailure}): ${String(err)}`,
              );
            },
          ),
        ),
      );
      await sleep(2000);
      const k0 = keepalives;
      c0 = cpu();
      t0 = Date.now();
      await sleep(parsed.hold);
      const holdSeconds = (Date.now() - t0) / 1000;
      const holdCores = (cpu() - c0) / holdSeconds;
      const keepalivesPerSecond = (keepalives - k0) / holdSeconds;
      const rssLoaded = rss();
      const extraCores = Math.max(0, holdCores - idleCores);
      out(
        `keep-alive of ${parsed.instances} leases (TTL ${ttl} s, every ${fmt(ttl / 3)} s): ${fmt(keepalivesPerSecond, 0)} keep-alives/s, server CPU ${fmt(holdCores * 100)}% of a core (idle ${fmt(idleCores * 100)}%), ${fmt((extraCores / keepalivesPerSecond) * 1e6)} µs CPU per keep-alive`,
      );
      out(
        `server RSS: ${fmt(rssIdle / 2 ** 20)} MiB idle → ${fmt(rssLoaded / 2 ** 20)} MiB with ${parsed.instances} instances (${fmt((rssLoaded - rssIdle) / parsed.instances)} B/instance, all members)`,
      );

      // 3. Deaths: stop an instance's keep-alives right after a renewal; time until the last subscriber drops it.
      const victims = [...keepers.keys()].slice(0, parsed.kills);
      const deathMs = await Promise.all(
        victims.map(async (id) => {
          const keeper = keepers.get(id)!;
          await new Promise<void>((r) => keeper.once('keepalive', () => r()));
          keeper.close();
          keepers.delete(id);
          const dead = Date.now();
          await Promise.all(
            subscribers.map(({ sub }) =>
              waitUntil(() => !sub.instances().some((x) => x.id === id), (ttl + 30) * 1000),
            ),
          );
          return Date.now() - dead;
        }),
      );
      // 4. Graceful deregistrations: watch propagation only.
      const leavers = [...keepers.keys()].slice(0, parsed.kills);
      const leaveMs: number[] = [];
      for (const id of leavers) {
        keepers.get(id)!.close();
        keepers.delete(id);
        const t = Date.now();
        await clients[0]!.call('cairn.registry.v1.Registry', 'Deregister', {
          namespace: 'default',
          service: 'bench',
          id,
        });
        await Promise.all(
          subscribers.map(({ sub }) => waitUntil(() => !sub.instances().some((x) => x.id === id), 10_000)),
        );
        leaveMs.push(Date.now() - t);
      }
      const result = {
        members: parsed.members,
        instances: parsed.instances,
        ttlSeconds: ttl,
        subscribers: parsed.subscribers,
        registrationsPerSecond: Math.round(registrationsPerSecond),
        leasesLost: lostLeases,
        registerRetries,
        keepalivesFailed: failedKeepalives,
        registerSeconds,
        keepalivesPerSecond: Math.round(keepalivesPerSecond),
        serverCpuCores: { idle: idleCores, keepAlive: holdCores },
        cpuMicrosPerKeepalive: (extraCores / keepalivesPerSecond) * 1e6,
        rssMiB: { idle: rssIdle / 2 ** 20, loaded: rssLoaded / 2 ** 20 },
        deathToLastSubscriberMs: {
          min: Math.min(...deathMs),
          p50: exactPercentile(deathMs, 50),
          max: Math.max(...deathMs),
        },
        deregisterToLastSubscriberMs: {
          min: Math.min(...leaveMs),
          p50: exactPercentile(leaveMs, 50),
          max: Math.max(...leaveMs),
        },
      };
      out(
        `death → last of ${parsed.subscribers} subscribers: min ${result.deathToLastSubscriberMs.min} ms, p50 ${fmt(result.deathToLastSubscriberMs.p50, 0)} ms, max ${result.deathToLastSubscriberMs.max} ms (TTL ${ttl * 1000} ms)`,
      );
      out(
        `deregister → last of ${parsed.subscribers} subscribers: min ${result.deregisterToLastSubscriberMs.min} ms, p50 ${fmt(result.deregisterToLastSubscriberMs.p50, 0)} ms, max ${result.deregisterToLastSubscriberMs.max} ms`,
      );
      if (parsed.json) out(JSON.stringify(result, null, 2));
    } finally {
      for (const keeper of keepers.values()) keeper.close();
      for (const { registry } of subscribers) {
        await registry.close();
        registry.client.close();
      }
      for (const client of clients) client.close();
      await cluster.stop();
      rmSync(baseDir, { recursive: true, force: true });
    }
  },
};

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await sleep(5);
  }
}
