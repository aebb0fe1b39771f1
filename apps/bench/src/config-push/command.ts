// `bench config-push`: time from a config publish to the last of N subscribers applying it (and the
// spread over every subscriber), on a fresh 1- or 3-member Cairn cluster. Subscribers run in child
// processes (up to --per-connection Watch streams on one gRPC connection, connections spread over the
// members); publishes go to the first member's REST
// API, one at a time, each waiting until every subscriber applied the previous one.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from '../cli/command';
import { flag, parseFlags } from '../cli/flags';
import { startCluster } from '../servers/cluster';
import { readProcessCpuMs, sampleServerCpu } from '../stats/cpu';
import { exactPercentile } from '../stats/latency-histogram';

const REPO_ROOT = resolve(__dirname, '../../../..');

const flags = {
  members: flag.int('members in the Cairn cluster', 1),
  subscribers: flag.int('subscribers (one Watch stream each)', 1000),
  client: flag.string(
    'subscriber client: grpc-js (as the SDK) or http2 (plain node:http2, less CPU per message)',
    'grpc-js',
    'NAME',
  ),
  'per-connection': flag.int('subscribers sharing one gRPC connection (an SDK process shares one)', 1),
  processes: flag.int('child processes holding the subscribers', 4),
  'connect-concurrency': flag.int(
    'subscribers per process connecting at once (each opens the next once its first event arrived)',
    50,
  ),
  rounds: flag.int('publishes measured', 20),
  warmup: flag.int('publishes before measuring', 3, 0),
  'value-size': flag.int('bytes of config content per publish', 256, 16),
  'cairn-bin': flag.string('Cairn launcher', resolve(REPO_ROOT, 'bin/cairn'), 'PATH'),
  'cairn-flags': flag.string('extra flags for every member (space-separated)', '', 'FLAGS'),
  timeout: flag.duration('bound for one publish to reach every subscriber', 60_000),
  json: flag.bool('print the result as JSON'),
};

interface Worker {
  child: ChildProcess;
  ready: Promise<void>;
  waitApplied(version: number): Promise<bigint[]>;
}

function startWorker(
  index: number,
  count: number,
  connectConcurrency: number,
  perConnection: number,
  client: string,
  endpoints: string[],
  ns: string,
  app: string,
): Worker {
  const child = fork(join(__dirname, 'worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const appliedWaiters = new Map<number, (times: bigint[]) => void>();
  let markReady: () => void = () => undefined;
  let fail: (err: Error) => void = () => undefined;
  const ready = new Promise<void>((resolveReady, reject) => {
    markReady = resolveReady;
    fail = reject;
  });
  child.on('message', (msg: { type: string; version?: number; times?: string[]; message?: string }) => {
    if (msg.type === 'ready') markReady();
    else if (msg.type === 'applied')
      appliedWaiters.get(msg.version!)?.((msg.times ?? []).map((t) => BigInt(t)));
    else if (msg.type === 'error') fail(new Error(`worker ${index}: ${msg.message}`));
  });
  child.send({
    type: 'start',
    endpoints,
    count,
    connectConcurrency,
    perConnection,
    client,
    idPrefix: `bench-${index}`,
    namespace: ns,
    app,
  });
  return {
    child,
    ready,
    waitApplied: (version) =>
      new Promise<bigint[]>((resolveApplied) => {
        appliedWaiters.set(version, resolveApplied);
        child.send({ type: 'await', version });
      }),
  };
}

async function rest(url: string, method: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const parsed = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(parsed)}`);
  return parsed;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

/** A member's resident set size in MiB (/proc; 0 when it cannot be read). */
function rssMiB(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return kb ? Math.round(Number(kb[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

const ms = (ns: bigint): number => Number(ns) / 1e6;
const fmt = (v: number): string => v.toFixed(1);

export const configPushCommand: Command = {
  name: 'config-push',
  summary: 'config publish → last of N subscribers applying it (p50/p99), 1 or 3 members',
  flags,
  async run(argv, out) {
    const parsed = parseFlags(argv, flags);
    if (parsed.client !== 'grpc-js' && parsed.client !== 'http2')
      throw new Error(`--client wants grpc-js or http2, got "${parsed.client}"`);
    const baseDir = mkdtempSync(join(tmpdir(), 'cairn-bench-config-'));
    const cluster = await startCluster({
      label: 'cairn',
      command: parsed['cairn-bin'],
      extraArgs: parsed['cairn-flags'].split(/\s+/).filter((p) => p.length > 0),
      members: parsed.members,
      baseDir,
    });
    const workers: Worker[] = [];
    try {
      const ns = 'bench';
      const app = 'push';
      const api = `${cluster.members[0].clientUrl}/api/config/v1/namespaces/${ns}/apps/${app}/items/app.json`;
      const content = (round: number): string =>
        JSON.stringify({ round, pad: 'x'.repeat(Math.max(0, parsed['value-size'] - 24)) });
      await rest(api, 'PUT', { format: 'json' });
      let release = await rest(`${api}/publish`, 'POST', { content: content(-1), author: 'bench' });

      const perWorker = Math.ceil(parsed.subscribers / parsed.processes);
      let left = parsed.subscribers;
      for (let i = 0; i < parsed.processes && left > 0; i++) {
        const n = Math.min(perWorker, left);
        left -= n;
        workers.push(
          startWorker(
            i,
            n,
            parsed['connect-concurrency'],
            parsed['per-connection'],
            parsed.client,
            cluster.endpoints,
            ns,
            app,
          ),
        );
      }
      const connectStart = Date.now();
      await withTimeout(
        Promise.all(workers.map((w) => w.ready)),
        Math.max(120_000, parsed.subscribers * 30),
        'subscribers connecting',
      );
      out(
        `config-push: ${parsed.subscribers} subscribers (${parsed['per-connection']} per connection, ${parsed.client}) in ${workers.length} processes on ${parsed.members} member(s), connected in ${((Date.now() - connectStart) / 1000).toFixed(1)} s; ${parsed.rounds} publishes`,
      );

      const lastLatencies: number[] = [];
      const allLatencies: number[] = [];
      // Subscriber processes' CPU too: on this machine they share the cores with the members.
      const clientCpuMs = (): number =>
        workers.reduce((sum, w) => sum + (readProcessCpuMs(w.child.pid!) ?? 0), 0);
      let cpu0 = sampleServerCpu(cluster.pids);
      let clientCpu0 = clientCpuMs();
      for (let round = 0; round < parsed.warmup + parsed.rounds; round++) {
        if (round === parsed.warmup) {
          cpu0 = sampleServerCpu(cluster.pids);
          clientCpu0 = clientCpuMs();
        }
        const version = Number(release.version) + 1;
        const waits = workers.map((w) => w.waitApplied(version));
        const t0 = process.hrtime.bigint();
        release = await rest(`${api}/publish`, 'POST', { content: content(round), author: 'bench' });
        if (Number(release.version) !== version)
          throw new Error(`expected version ${version}, got ${String(release.version)}`);
        const times = (
          await withTimeout(Promise.all(waits), parsed.timeout, `version ${version} everywhere`)
        ).flat();
        if (round < parsed.warmup) continue;
        const latencies = times.map((t) => ms(t - t0));
        lastLatencies.push(Math.max(...latencies));
        allLatencies.push(...latencies);
        await new Promise((r) => setTimeout(r, 50));
      }
      const cpu1 = sampleServerCpu(cluster.pids);
      const clientCpu1 = clientCpuMs();
      const result = {
        members: parsed.members,
        subscribers: parsed.subscribers,
        perConnection: parsed['per-connection'],
        client: parsed.client,
        processes: workers.length,
        rounds: parsed.rounds,
        lastSubscriberMs: {
          p50: exactPercentile(lastLatencies, 50),
          p99: exactPercentile(lastLatencies, 99),
          max: Math.max(...lastLatencies),
        },
        everySubscriberMs: {
          p50: exactPercentile(allLatencies, 50),
          p99: exactPercentile(allLatencies, 99),
        },
        memberRssMiB: cluster.pids.map(rssMiB),
        /** Summed over the members, per measured publish (the 50 ms pauses between publishes included). */
        serverCpuMsPerPublish: cpu0 && cpu1 ? (cpu1.cpuMs - cpu0.cpuMs) / parsed.rounds : undefined,
        clientCpuMsPerPublish: (clientCpu1 - clientCpu0) / parsed.rounds,
        loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
      };
      out(
        `publish → last subscriber applied: p50 ${fmt(result.lastSubscriberMs.p50)} ms, p99 ${fmt(result.lastSubscriberMs.p99)} ms, max ${fmt(result.lastSubscriberMs.max)} ms`,
      );
      out(
        `publish → each subscriber applied: p50 ${fmt(result.everySubscriberMs.p50)} ms, p99 ${fmt(result.everySubscriberMs.p99)} ms`,
      );
      out(`RSS per member after the publishes: ${result.memberRssMiB.map((r) => `${r} MiB`).join(', ')}`);
      if (result.serverCpuMsPerPublish !== undefined)
        out(
          `CPU per publish: members ${fmt(result.serverCpuMsPerPublish)} ms, subscriber processes ${fmt(result.clientCpuMsPerPublish)} ms`,
        );
      out(`load average: ${result.loadAverage.join(' ')}`);
      if (parsed.json) out(JSON.stringify(result, null, 2));
    } finally {
      for (const w of workers) w.child.disconnect();
      await cluster.stop();
      rmSync(baseDir, { recursive: true, force: true });
    }
  },
};
