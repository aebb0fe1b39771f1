// `bench go-load`: the compare command's side-by-side run with etcd's own Go client as the load. For each
// member count it starts a fresh cluster of every target, primes them, runs the Go generator on each target
// in turn (etcd, Cairn, etcd, Cairn, …) for every workload and run, samples the servers' CPU over each
// measured window, and prints the medians per target and the Cairn/etcd ratios as markdown tables.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command, Output } from '../cli/command';
import { flag, parseFlags, UsageError } from '../cli/flags';
import { describeCairnBuild, loadAverage, machineDescription, versionOf } from '../compare/environment';
import {
  compareTableOf,
  displayName,
  formatPerTargetTable,
  formatRatioTable,
  type CompareTable,
} from '../compare/markdown-report';
import { reportRunTo, runInterleaved } from '../compare/interleave';
import { parseWorkloadName, type CompareWorkload } from '../compare/workload-spec';
import { startCluster, type Cluster } from '../servers/cluster';
import { findLeaderEndpoint } from '../servers/leader';
import { buildLoadgen, REPO_ROOT, runLoadgen, type GoWorkload } from './go-loadgen';
import { killOnExit } from '../servers/kill-on-exit';

const KNOWN_TARGETS = ['etcd', 'cairn'];
const GO_WORKLOADS = ['put', 'range-l', 'range-s'] as const;

const flags = {
  workload: flag.list('put, range-l (linearizable get), range-s (serializable get)', ['put'], 'W,..'),
  inflight: flag.list('requests in flight (closed loop); every --workload runs at each', ['64'], 'N,..'),
  workloads: flag.optionalString(
    'instead of --workload × --inflight, the compare names: put<N>, get-l<N>, get-s<N>',
    'put1,get-s64,..',
  ),
  members: flag.list('members per cluster; each count gets fresh clusters', ['1'], 'N,..'),
  duration: flag.duration('length of each measured run', 5000),
  runs: flag.int('runs per workload and server (the median is reported)', 3),
  warmup: flag.duration('unmeasured load before each run', 1000),
  prime: flag.duration('unmeasured load on each fresh cluster first, spread over the workloads', 10_000),
  pause: flag.duration('idle time between runs', 500),
  targets: flag.list('servers, in this order within each round', ['etcd', 'cairn'], 'etcd,cairn'),
  'load-to': flag.choice('the leader only, or every member', ['leader', 'all'] as const, 'leader'),
  conns: flag.int('clientv3 clients (gRPC connections) per run', 1),
  'key-size': flag.int('put key size in bytes', 16),
  'key-space': flag.int('distinct put keys, drawn at random', 100_000),
  'val-size': flag.int('value size in bytes', 256, 0),
  'etcd-bin': flag.string('real etcd binary', '/usr/bin/etcd', 'PATH'),
  'cairn-bin': flag.string('Cairn launcher', resolve(REPO_ROOT, 'bin/cairn'), 'PATH'),
  'etcd-flags': flag.string('extra flags for every etcd member (space-separated)', '', 'FLAGS'),
  'cairn-flags': flag.string('extra flags for every Cairn member (space-separated)', '', 'FLAGS'),
  'loadgen-bin': flag.string('a built generator (default: build it with scripts/build-go.sh)', '', 'PATH'),
  'keep-data': flag.bool('keep the data dirs and server logs (always kept after a failure)'),
};

interface Target {
  label: string;
  command: string;
  extraArgs: string[];
}

interface GoLoadOptions {
  targets: Target[];
  workloads: CompareWorkload[];
  members: number;
  runs: number;
  durationMs: number;
  warmupMs: number;
  primeMs: number;
  pauseMs: number;
  loadTo: 'leader' | 'all';
  conns: number;
  keySize: number;
  keySpace: number;
  valueSize: number;
  binary: string;
  keepData: boolean;
}

export const goLoadCommand: Command = {
  name: 'go-load',
  summary: "side by side with etcd's Go client (clientv3 3.4) as the load: fresh servers, interleaved runs",
  flags,
  async run(argv, out) {
    const parsed = parseFlags(argv, flags);
    const targets = parsed.targets.map((label): Target => {
      if (!KNOWN_TARGETS.includes(label))
        throw new UsageError(`unknown target "${label}": use ${KNOWN_TARGETS.join(', ')}`);
      const [command, extra] =
        label === 'etcd'
          ? [parsed['etcd-bin'], parsed['etcd-flags']]
          : [parsed['cairn-bin'], parsed['cairn-flags']];
      return { label, command, extraArgs: extra.split(/\s+/).filter((part) => part.length > 0) };
    });
    const workloads = parsed.workloads
      ? parsed.workloads.split(',').map((name) => parseWorkloadName(name.trim()))
      : crossWorkloads(parsed.workload, parsed.inflight);
    const memberCounts = parsed.members.map((raw) => positiveInt(raw, 'members'));
    out(`command: bench go-load ${argv.join(' ')}`);
    const binary = parsed['loadgen-bin'] || (await buildLoadgen());
    for (const members of memberCounts) {
      await runGoLoad(
        {
          targets,
          workloads,
          members,
          runs: parsed.runs,
          durationMs: parsed.duration,
          warmupMs: parsed.warmup,
          primeMs: parsed.prime,
          pauseMs: parsed.pause,
          loadTo: parsed['load-to'],
          conns: parsed.conns,
          keySize: parsed['key-size'],
          keySpace: parsed['key-space'],
          valueSize: parsed['val-size'],
          binary,
          keepData: parsed['keep-data'],
        },
        out,
      );
    }
  },
};

/** `--workload put,range-s --inflight 1,64` → put1, put64, get-s1, get-s64 (the compare names). */
export function crossWorkloads(kinds: readonly string[], inflight: readonly string[]): CompareWorkload[] {
  const counts = inflight.map((raw) => positiveInt(raw, 'inflight'));
  return kinds.flatMap((kind) => {
    if (!(GO_WORKLOADS as readonly string[]).includes(kind))
      throw new UsageError(`unknown workload "${kind}": use ${GO_WORKLOADS.join(', ')}`);
    const prefix = kind === 'put' ? 'put' : kind === 'range-l' ? 'get-l' : 'get-s';
    return counts.map((count) => parseWorkloadName(`${prefix}${count}`));
  });
}

function positiveInt(raw: string, name: string): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new UsageError(`--${name} wants positive integers, got "${raw}"`);
  return value;
}

function goWorkloadOf(workload: CompareWorkload): GoWorkload {
  if (workload.kind === 'put') return 'put';
  return workload.consistency === 'l' ? 'range-l' : 'range-s';
}

interface RunningTarget {
  target: Target;
  cluster: Cluster;
  endpoints: string[];
}

export async function runGoLoad(options: GoLoadOptions, out: Output): Promise<CompareTable> {
  const baseDir = mkdtempSync(join(tmpdir(), 'cairn-go-load-'));
  const clusters: Cluster[] = [];
  const killAll = (): void => clusters.forEach((cluster) => cluster.killNow());
  const removeExitHooks = killOnExit(killAll);
  let failed = false;
  try {
    out(`machine: ${machineDescription()}; load average before: ${loadAverage()}; loadgen ${options.binary}`);
    const running: RunningTarget[] = [];
    for (const target of options.targets) {
      const build = target.label === 'cairn' ? `; ${describeCairnBuild(target.command)}` : '';
      out(
        `starting ${options.members} × ${displayName(target.label)} (${target.command}: ${versionOf(target.command)}${build})`,
      );
      const cluster = await startCluster({
        label: target.label,
        command: target.command,
        extraArgs: target.extraArgs,
        members: options.members,
        baseDir: join(baseDir, `${target.label}-${options.members}`),
      });
      clusters.push(cluster);
      let endpoints = cluster.endpoints;
      if (options.loadTo === 'leader') {
        const leader = await findLeaderEndpoint(cluster.endpoints);
        if (!leader) throw new Error(`${cluster.label}: no member reports itself as leader`);
        endpoints = [leader];
      }
      running.push({ target, cluster, endpoints });
      out(
        `  ${displayName(target.label)}: PIDs ${cluster.pids.join(', ')}, load goes to ${endpoints.join(', ')}`,
      );
    }

    const runOne = (entry: RunningTarget, workload: CompareWorkload, durationMs: number, warmupMs: number) =>
      runLoadgen({
        binary: options.binary,
        endpoints: entry.endpoints,
        workload: goWorkloadOf(workload),
        inflight: workload.clients,
        conns: options.conns,
        durationMs,
        warmupMs,
        keySize: options.keySize,
        keySpace: options.keySpace,
        valueSize: options.valueSize,
        serverPids: entry.cluster.pids,
      });

    if (options.primeMs > 0) {
      const eachMs = Math.max(500, Math.round(options.primeMs / options.workloads.length));
      for (const entry of running) {
        out(`  priming ${displayName(entry.target.label)}: ${eachMs / 1000} s of each workload, unmeasured`);
        for (const workload of options.workloads) await runOne(entry, workload, eachMs, 0);
      }
    }

    const labelOf = (entry: RunningTarget): string => entry.target.label;
    const results = await runInterleaved({
      workloads: options.workloads,
      runs: options.runs,
      targets: running,
      labelOf,
      runOne: (entry, workload) => runOne(entry, workload, options.durationMs, options.warmupMs),
      onResult: reportRunTo(out, options.runs, 5, labelOf),
      pauseMs: options.pauseMs,
    });
    out(`load average after: ${loadAverage()}`);

    const table = compareTableOf(
      options.workloads,
      options.targets.map((target) => target.label),
      results,
    );
    out('');
    out(
      `${options.members} member(s), Go clientv3 load (${options.conns} client(s)) to ${options.loadTo === 'leader' ? 'the leader' : 'every member'}; median of ${options.runs} interleaved ${options.durationMs / 1000}-second runs after ${options.warmupMs / 1000} s warm-up each (clusters primed with ${options.primeMs / 1000} s first); put keys ${options.keySize} B at random over ${options.keySpace}, values ${options.valueSize} B; server CPU summed over all members.`,
    );
    out('');
    for (const line of formatPerTargetTable(table)) out(line);
    if (table.targets.includes('etcd') && table.targets.includes('cairn')) {
      out('');
      for (const line of formatRatioTable(table, 'etcd', 'cairn')) out(line);
    }
    return table;
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    await Promise.all(clusters.map((cluster) => cluster.stop()));
    removeExitHooks();
    if (options.keepData || failed) out(`data dirs and server logs kept in ${baseDir}`);
    else rmSync(baseDir, { recursive: true, force: true });
  }
}
