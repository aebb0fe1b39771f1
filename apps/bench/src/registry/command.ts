// `bench registry`: the service registry at scale on a fresh 1- or 3-member Cairn cluster.
//  1. registers N instances (cairn.registry.v1 Register: the lease grant and the txn in ONE Raft entry) with
//     C in flight — each on a lease of its own, or (--session-size M) M instances per session, one session
//     lease per simulated client process (OpenSession), as Consul sessions / Nacos connections;
//  2. keeps every lease alive at TTL/3 for a hold window — etcd LeaseKeepAlive streams (one message per
//     lease), or --renew-batch B leases per Registry.KeepAlive call; a session renews its one lease per call —
//     and reads the members' CPU (from /proc) against an idle window, and their RSS;
//  3. "kills" K instances (or K sessions: every instance of each) by stopping their renewals right after
//     one, and times how long until the last of S SDK subscribers drops them (≈ TTL + expiry + watch);
//  4. deregisters K more instances and times the same path without the TTL (watch propagation only).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  EtcdClient,
  type InstanceChange,
  type LeaseKeepAlive,
  RegistryClient,
  type ServiceSubscription,
} from '@cairn/client';
import type { Command } from '../cli/command';
import { flag, parseFlags } from '../cli/flags';
import { startCluster } from '../servers/cluster';
import { killOnExit } from '../servers/kill-on-exit';
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
  kills: flag.int('instances (or sessions) killed (keep-alives stopped) and timed', 10),
  'session-size': flag.int('instances per session (one lease per client process); 0 = a lease each', 0, 0),
  'register-batch': flag.int(
    'instances per Registry.RegisterBatch call in session mode (up to --max-txn-ops, 128, per Raft entry; half with --registry-etcd-naming); 0 = Register each',
    0,
    0,
  ),
  'renew-batch': flag.int(
    'leases per Registry.KeepAlive call (per-instance leases); 0 = etcd LeaseKeepAlive streams',
    0,
    0,
  ),
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
    // A bench stopped by a signal must not leave its members running (they kept a core busy for an hour once).
    const removeExitHooks = killOnExit(() => cluster.killNow());
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
    const subscribers: {
      registry: RegistryClient;
      sub: ServiceSubscription;
      /** When each instance was removed from this subscriber's view (from its change events). */
      removed: Map<string, number>;
    }[] = [];
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
        const removed = new Map<string, number>();
        sub.on('change', (change: InstanceChange) => {
          if (change.type === 'removed') removed.set(change.instance.id, Date.now());
        });
        await sub.ready();
        subscribers.push({ registry, sub, removed });
      }

      // 1. Registrations.
      const ttl = parsed.ttl;
      const sessionSize = parsed['session-size'];
      const renewBatch = parsed['renew-batch'];
      const registerBatch = parsed['register-batch'];
      const intervalMs = Math.floor((ttl * 1000) / 3);
      let next = 0;
      let keepalives = 0;
      let failedKeepalives = 0;
      let lostLeases = 0;
      let registerRetries = 0;
      let firstFailure = '';
      const leases = new Map<string, bigint>();
      // Batched renewals (--renew-batch or sessions): groups of leases, each renewed by one KeepAlive call.
      const groups: RenewGroup[] = [];
      const groupOf = new Map<string, RenewGroup>();
      const onLost = (count: number) => {
        lostLeases += count;
      };
      // Sessions are opened as the SDK opens them: by the first registration of their process.
      const sessions: bigint[] = [];
      const opening = new Map<number, Promise<bigint>>();
      let sessionsReopened = 0;
      const sessionFor = (k: number, client: EtcdClient): Promise<bigint> => {
        let open = opening.get(k);
        if (!open) {
          open = withRetries(
            () =>
              client.call<object, { session: string }>('cairn.registry.v1.Registry', 'OpenSession', {
                namespace: 'default',
                ttl,
              }),
            () => registerRetries++,
          ).then((res) => {
            sessions[k] = BigInt(res.session);
            // The session's process renews its one lease from now on.
            groups[k]?.stop();
            const group = new RenewGroup(client, [res.session], sessionSize);
            groups[k] = group;
            group.start(intervalMs, onRenewed, onFailed, onLost);
            return BigInt(res.session);
          });
          opening.set(k, open);
        }
        return open;
      };
      const proposals0 = await proposalsCommitted(endpoints[0]!);
      const started = Date.now();
      // Progress on stderr (a long run on a loaded machine should say where it is).
      const progress = setInterval(() => {
        process.stderr.write(
          `[registry] ${Math.min(next, parsed.instances)} registered after ${fmt((Date.now() - started) / 1000, 0)} s; renewals ${keepalives}, failed ${failedKeepalives}${firstFailure ? ` (${firstFailure})` : ''}, lost ${lostLeases}, retries ${registerRetries}\n`,
        );
      }, 15_000).unref();
      c0 = cpu();
      await Promise.all(
        Array.from({ length: parsed.concurrency }, async (_, w) => {
          const client = clients[w % clients.length]!;
          for (;;) {
            const i = next++;
            if (i >= parsed.instances) return;
            const id = `i${String(i).padStart(6, '0')}`;
            const k = Math.floor(i / sessionSize);
            const batched = registerBatch > 0 && sessionSize > 0;
            // Up to --register-batch instances of this session in one call (what the SDK does with the
            // registrations of one turn), claimed before anything is awaited.
            const end = batched
              ? Math.min(i + registerBatch, (k + 1) * sessionSize, parsed.instances)
              : i + 1;
            if (batched) next = end;
            let session = sessionSize > 0 ? await sessionFor(k, client) : 0n;
            if (batched) {
              const ids = Array.from({ length: end - i }, (_, j) => `i${String(i + j).padStart(6, '0')}`);
              await withRetries(
                () =>
                  client
                    .call<object, { results: { registered?: object; code?: number; error?: string }[] }>(
                      'cairn.registry.v1.Registry',
                      'RegisterBatch',
                      {
                        namespace: 'default',
                        session: session.toString(),
                        instances: ids.map((bid, j) => ({
                          service: 'bench',
                          id: bid,
                          address: { host: '10.1.0.1', port: 10_000 + ((i + j) % 50_000) },
                          metadata: { zone: `z${(i + j) % 3}` },
                        })),
                      },
                    )
                    .then(({ results }) => {
                      const refused = results.find((r) => !r.registered);
                      if (refused) throw Object.assign(new Error(refused.error), { code: refused.code });
                    })
                    .catch(async (err: { code?: number }) => {
                      if (err.code !== 5) throw err;
                      if (opening.get(k) !== undefined && sessions[k] === session) {
                        opening.delete(k);
                        sessionsReopened++;
                      }
                      session = await sessionFor(k, client);
                      throw err;
                    }),
                () => registerRetries++,
              );
              for (const bid of ids) {
                leases.set(bid, session);
                groupOf.set(bid, groups[k]!);
              }
              continue;
            }
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
                ...(session !== 0n ? { session: session.toString() } : {}),
              });
            const res = await withRetries(
              () =>
                register().catch(async (err: { code?: number }) => {
                  // NOT_FOUND: the session expired first; the SDK opens another (counted, never expected).
                  if (err.code !== 5 || sessionSize === 0) throw err;
                  if (opening.get(k) !== undefined && sessions[k] === session) {
                    opening.delete(k);
                    sessionsReopened++;
                  }
                  session = await sessionFor(k, client);
                  throw err;
                }),
              () => registerRetries++,
            );
            leases.set(id, BigInt(res.lease));
            if (sessionSize > 0) {
              groupOf.set(id, groups[k]!);
              continue;
            }
            if (renewBatch > 0) {
              let group = groups[groups.length - 1];
              if (!group || group.size() >= renewBatch) {
                group = new RenewGroup(client, [], 1);
                groups.push(group);
                group.start(intervalMs, onRenewed, onFailed, onLost);
              }
              group.add(res.lease);
              groupOf.set(id, group);
              continue;
            }
            // Kept alive from now on: the first leases would expire before the last one is registered.
            const keeper = client.keepAlive(BigInt(res.lease), { intervalMs });
            keeper.on('keepalive', () => keepalives++);
            keeper.on('failed', (err: unknown) => onFailed(err));
            keeper.on('lost', () => {
              lostLeases++;
              keepers.delete(id);
            });
            keepers.set(id, keeper);
          }
        }),
      );
      clearInterval(progress);
      const registerSeconds = (Date.now() - started) / 1000;
      const registerCpu = cpu() - c0;
      const proposalsPerRegistration =
        ((await proposalsCommitted(endpoints[0]!)) - proposals0) / parsed.instances;
      const registrationsPerSecond = parsed.instances / registerSeconds;
      function onRenewed(count: number): void {
        keepalives += count;
      }
      function onFailed(err: unknown): void {
        failedKeepalives++;
        if (firstFailure === '') firstFailure = String(err);
      }
      if (lostLeases > 0) out(`warning: ${lostLeases} leases were lost during the registration phase`);
      if (sessionsReopened > 0) out(`warning: ${sessionsReopened} sessions expired and were opened again`);
      const lostBeforeHold = lostLeases;
      out(
        `registered ${parsed.instances} instances${sessionSize > 0 ? ` in ${sessions.length} sessions of ${sessionSize}` : ''} in ${fmt(registerSeconds, 2)} s: ${fmt(registrationsPerSecond, 0)} registrations/s (server CPU ${fmt(registerCpu)} s, ${fmt((registerCpu / parsed.instances) * 1e6, 0)} µs per registration; ${fmt(proposalsPerRegistration, 2)} Raft proposals per registration)`,
      );

      // 2. Keep-alives (each started as its registration returned) for the hold window.
      await Promise.all(
        subscribers.map(({ sub }, i) =>
          waitUntil(() => sub.instances().length === parsed.instances - lostLeases, 180_000).catch(
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
      const lostAtHold = lostLeases;
      const calls0 = sum(groups.map((g) => g.calls));
      c0 = cpu();
      t0 = Date.now();
      await sleep(parsed.hold);
      const holdSeconds = (Date.now() - t0) / 1000;
      const holdCores = (cpu() - c0) / holdSeconds;
      const keepalivesPerSecond = (keepalives - k0) / holdSeconds;
      const callsPerSecond =
        groups.length > 0 ? (sum(groups.map((g) => g.calls)) - calls0) / holdSeconds : keepalivesPerSecond;
      const instancesRenewedPerSecond =
        sessionSize > 0 ? keepalivesPerSecond * sessionSize : keepalivesPerSecond;
      const rssLoaded = rss();
      const extraCores = Math.max(0, holdCores - idleCores);
      const mode =
        sessionSize > 0
          ? `${sessions.length} session leases (${sessionSize} instances each), one KeepAlive call per session`
          : renewBatch > 0
            ? `${parsed.instances} leases, ${renewBatch} per KeepAlive call`
            : `${parsed.instances} leases, etcd LeaseKeepAlive streams`;
      out(
        `keep-alive of ${mode} (TTL ${ttl} s, every ${fmt(ttl / 3)} s): ${fmt(keepalivesPerSecond, 0)} lease renewals/s in ${fmt(callsPerSecond, 0)} messages/s, server CPU ${fmt(holdCores * 100)}% of a core (idle ${fmt(idleCores * 100)}%), ${fmt((extraCores / keepalivesPerSecond) * 1e6)} µs CPU per lease renewal, ${fmt((extraCores / instancesRenewedPerSecond) * 1e6, 2)} µs per instance kept alive`,
      );
      out(
        `server RSS: ${fmt(rssIdle / 2 ** 20)} MiB idle → ${fmt(rssLoaded / 2 ** 20)} MiB with ${parsed.instances} instances (${fmt((rssLoaded - rssIdle) / parsed.instances)} B/instance all members, ${fmt((rssLoaded - rssIdle) / parsed.instances / parsed.members)} B/instance per member); instances whose lease was lost over the hold: ${lostLeases - lostAtHold} (before it: ${lostAtHold})`,
      );

      // 3. Deaths: stop renewals right after one; time until the last subscriber drops every instance.
      const gone = (ids: string[]) => () =>
        subscribers.every(({ removed }) => ids.every((id) => removed.has(id)));
      /** When the last subscriber dropped the last of `ids`. */
      const lastRemoval = (ids: string[]) =>
        Math.max(...subscribers.flatMap(({ removed }) => ids.map((id) => removed.get(id)!)));
      let deathMs: number[];
      if (sessionSize > 0) {
        const victims = groups.slice(0, parsed.kills);
        deathMs = await Promise.all(
          victims.map(async (group) => {
            await group.nextRenewal();
            group.stop();
            const dead = Date.now();
            const ids = [...groupOf].filter(([, x]) => x === group).map(([id]) => id);
            for (const id of ids) groupOf.delete(id);
            await waitUntil(gone(ids), (ttl + 30) * 1000);
            return lastRemoval(ids) - dead;
          }),
        );
      } else {
        const victims = [...(renewBatch > 0 ? groupOf.keys() : keepers.keys())].slice(0, parsed.kills);
        deathMs = await Promise.all(
          victims.map(async (id) => {
            if (renewBatch > 0) {
              const group = groupOf.get(id)!;
              await group.nextRenewal();
              group.remove(leases.get(id)!.toString());
              groupOf.delete(id);
            } else {
              const keeper = keepers.get(id)!;
              await new Promise<void>((r) => keeper.once('keepalive', () => r()));
              keeper.close();
              keepers.delete(id);
            }
            const dead = Date.now();
            await waitUntil(gone([id]), (ttl + 30) * 1000);
            return lastRemoval([id]) - dead;
          }),
        );
      }
      // 4. Graceful deregistrations: watch propagation only.
      const leavers = [...(keepers.size > 0 ? keepers.keys() : groupOf.keys())].slice(0, parsed.kills);
      const leaveMs: number[] = [];
      for (const id of leavers) {
        keepers.get(id)?.close();
        keepers.delete(id);
        if (renewBatch > 0 && sessionSize === 0) groupOf.get(id)?.remove(leases.get(id)!.toString());
        groupOf.delete(id);
        const t = Date.now();
        await clients[0]!.call('cairn.registry.v1.Registry', 'Deregister', {
          namespace: 'default',
          service: 'bench',
          id,
        });
        await waitUntil(gone([id]), 10_000);
        leaveMs.push(lastRemoval([id]) - t);
      }
      const result = {
        members: parsed.members,
        instances: parsed.instances,
        ttlSeconds: ttl,
        subscribers: parsed.subscribers,
        sessionSize,
        registerBatch,
        sessions: sessions.length,
        sessionsReopened,
        renewBatch,
        registrationsPerSecond: Math.round(registrationsPerSecond),
        proposalsPerRegistration,
        cpuMicrosPerRegistration: (registerCpu / parsed.instances) * 1e6,
        leasesLost: lostLeases,
        leasesLostOverHold: lostLeases - lostAtHold,
        leasesLostBeforeHold: lostBeforeHold,
        registerRetries,
        keepalivesFailed: failedKeepalives,
        registerSeconds,
        keepalivesPerSecond: Math.round(keepalivesPerSecond),
        keepaliveMessagesPerSecond: Math.round(callsPerSecond),
        cpuMicrosPerInstanceKeptAlive: (extraCores / instancesRenewedPerSecond) * 1e6,
        rssBytesPerInstancePerMember: (rssLoaded - rssIdle) / parsed.instances / parsed.members,
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
      for (const group of groupsToStop) group.stop();
      for (const { registry } of subscribers) {
        await registry.close();
        registry.client.close();
      }
      for (const client of clients) client.close();
      await cluster.stop();
      removeExitHooks();
      rmSync(baseDir, { recursive: true, force: true });
    }
  },
};

/**
 * A call retried (idempotent: a register of the same instance, a session open) when a member stalled past
 * the deadline or a connection broke on a loaded machine, with a growing pause; counted by `retried`.
 */
async function withRetries<T>(call: () => Promise<T>, retried: () => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      retried();
      if (attempt >= 10) throw err;
      await sleep(100 * attempt);
    }
  }
}

/** etcd_server_proposals_committed_total of a member (0 when it cannot be read). */
async function proposalsCommitted(clientUrl: string): Promise<number> {
  try {
    const text = await (await fetch(`${clientUrl}/metrics`)).text();
    const m = /^etcd_server_proposals_committed_total\s+(\d+)/m.exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

const groupsToStop = new Set<RenewGroup>();

/**
 * Leases renewed together by one Registry.KeepAlive call every interval (a batch of instance leases, or
 * a session's one lease); the start is spread over the interval so calls do not come in bursts.
 */
class RenewGroup {
  calls = 0;
  private timer?: NodeJS.Timeout;
  private readonly leases: Set<string>;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly client: EtcdClient,
    leases: string[],
    /** Instances each lease stands for (a session's size), counted in lost. */
    private readonly weight: number,
  ) {
    this.leases = new Set(leases);
  }

  size(): number {
    return this.leases.size;
  }

  add(lease: string): void {
    this.leases.add(lease);
  }

  remove(lease: string): void {
    this.leases.delete(lease);
  }

  nextRenewal(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  start(
    intervalMs: number,
    renewed: (count: number) => void,
    failed: (err: unknown) => void,
    lost: (count: number) => void,
  ): void {
    groupsToStop.add(this);
    const tick = async (): Promise<void> => {
      const leases = [...this.leases];
      if (leases.length === 0) return;
      try {
        this.calls++;
        const res = await this.client.call<object, { ttls: string[] }>(
          'cairn.registry.v1.Registry',
          'KeepAlive',
          { namespace: 'default', leases },
          intervalMs,
        );
        let ok = 0;
        res.ttls.forEach((ttl, i) => {
          if (Number(ttl) > 0) ok++;
          else {
            this.leases.delete(leases[i]!);
            lost(this.weight);
          }
        });
        renewed(ok);
      } catch (err) {
        failed(err);
      }
      for (const w of this.waiters.splice(0)) w();
    };
    this.timer = setTimeout(
      () => {
        void tick();
        this.timer = setInterval(() => void tick(), intervalMs);
      },
      Math.floor(Math.random() * intervalMs),
    );
  }

  stop(): void {
    clearTimeout(this.timer);
    clearInterval(this.timer);
    this.leases.clear();
    groupsToStop.delete(this);
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await sleep(5);
  }
}
