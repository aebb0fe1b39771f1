// The side-by-side run: start a fresh cluster of each server, run every workload on each in turn
// (etcd, Cairn, etcd, Cairn, …) so that machine noise hits both alike, take the medians, and stop
// every server by PID at the end, also when something fails or the user presses Ctrl-C.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionPool } from '../grpc/connection-pool';
import type { TransportKind } from '../grpc/transport';
import type { RunResult } from '../report/run-result';
import { formatMs, formatRate } from '../report/format-run';
import { startCluster, type Cluster } from '../servers/cluster';
import { findLeaderEndpoint } from '../servers/leader';
import { runPutWorkload } from '../workloads/put';
import { runRangeWorkload } from '../workloads/range';
import { describeCairnBuild, loadAverage, machineDescription, versionOf } from './environment';
import { displayName, formatPerTargetTable, formatRatioTable, type CompareTable } from './markdown-report';
import { summarizeRuns, type RunSummary } from './summary';
import type { CompareWorkload } from './workload-spec';

export interface CompareTarget {
  /** "etcd", "cairn" or "cairn-b" (also the member-name prefix). */
  label: string;
  command: string;
  extraArgs: readonly string[];
}

export interface CompareOptions {
  targets: readonly CompareTarget[];
  workloads: readonly CompareWorkload[];
  runs: number;
  durationMs: number;
  warmupMs: number;
  /**
   * Unmeasured load on each fresh cluster before its first measured run, split evenly over the workloads: a
   * Node.js server runs its hot paths unoptimized for its first few thousand requests (V8 tiers code up as it
   * runs), and a long-lived server is what the comparison is about. Every target gets the same.
   */
  primeMs: number;
  pauseMs: number;
  members: number;
  /** "leader": all load to the leader; "all": connections spread over every member. */
  loadTo: 'leader' | 'all';
  conns: number;
  transport: TransportKind;
  keySize: number;
  valueSize: number;
  keySpace: number;
  keepData: boolean;
}

interface RunningTarget {
  target: CompareTarget;
  cluster: Cluster;
  pool: ConnectionPool;
}

export async function runCompare(
  options: CompareOptions,
  out: (line: string) => void,
): Promise<CompareTable> {
  const baseDir = mkdtempSync(join(tmpdir(), 'cairn-bench-'));
  const clusters: Cluster[] = [];
  const running: RunningTarget[] = [];
  const killAll = (): void => clusters.forEach((cluster) => cluster.killNow());
  const onSignal = (signal: NodeJS.Signals): void => {
    killAll();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', killAll);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let failed = false;

  try {
    out(`machine: ${machineDescription()}; load average before: ${loadAverage()}`);
    for (const target of options.targets) {
      const build = target.label.startsWith('cairn') ? `; ${describeCairnBuild(target.command)}` : '';
      out(
        `starting ${options.members} × ${displayName(target.label)} (${target.command}: ${versionOf(target.command)}${build})`,
      );
      const cluster = await startCluster({
        label: target.label,
        command: target.command,
        extraArgs: target.extraArgs,
        members: options.members,
        baseDir: join(baseDir, target.label),
      });
      clusters.push(cluster);
      const endpoints = await chooseEndpoints(cluster, options.loadTo);
      const pool = new ConnectionPool(endpoints, options.conns, options.transport);
      await pool.ready();
      running.push({ target, cluster, pool });
      out(
        `  ${displayName(target.label)}: PIDs ${cluster.pids.join(', ')}, load goes to ${endpoints.join(', ')}`,
      );
    }

    if (options.primeMs > 0) {
      const eachMs = Math.max(1000, Math.round(options.primeMs / options.workloads.length));
      for (const { target, cluster, pool } of running) {
        out(
          `  priming ${displayName(target.label)}: ${options.workloads.map((w) => w.name).join(', ')}, ${eachMs / 1000} s each, unmeasured`,
        );
        for (const workload of options.workloads) {
          await runWorkload(pool, workload, cluster.pids, { ...options, durationMs: eachMs, warmupMs: 0 });
        }
      }
    }

    const results: Record<string, Record<string, RunResult[]>> = {};
    for (const workload of options.workloads) {
      for (let run = 1; run <= options.runs; run++) {
        for (const { target, cluster, pool } of running) {
          const result = await runWorkload(pool, workload, cluster.pids, options);
          ((results[workload.name] ??= {})[target.label] ??= []).push(result);
          out(
            `  ${workload.name} run ${run}/${options.runs} ${displayName(target.label).padEnd(7)} ${formatRate(result.throughput).padStart(7)} req/s  p50 ${formatMs(result.latency.p50)} p99 ${formatMs(result.latency.p99)} ms  errors ${result.errors}  client ${result.clientCpu.cores.toFixed(2)} cores${result.serverCpu ? `  server ${result.serverCpu.cores.toFixed(2)} cores` : ''}`,
          );
          for (const message of result.errorMessages) out(`    error: ${message}`);
          await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
        }
      }
    }
    out(`load average after: ${loadAverage()}`);

    const summaries: Record<string, Record<string, RunSummary>> = {};
    for (const [workload, byTarget] of Object.entries(results)) {
      summaries[workload] = Object.fromEntries(
        Object.entries(byTarget).map(([target, runs]) => [target, summarizeRuns(runs)]),
      );
    }
    const table: CompareTable = {
      workloads: options.workloads,
      targets: options.targets.map((target) => target.label),
      summaries,
    };
    out('');
    out(
      `Median of ${options.runs} interleaved ${options.durationMs / 1000}-second runs (after ${options.warmupMs / 1000} s warm-up each; each cluster primed with ${options.primeMs / 1000} s of the workloads first); ${options.members} member(s); ${options.conns} connection(s) over ${options.transport}; keys ${options.keySize} B over ${options.keySpace}, values ${options.valueSize} B.`,
    );
    out('');
    for (const line of formatPerTargetTable(table)) out(line);
    if (table.targets.length >= 2) {
      out('');
      for (const line of formatRatioTable(table, table.targets[0], table.targets[1])) out(line);
    }
    return table;
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    for (const { pool } of running) pool.close();
    await Promise.all(clusters.map((cluster) => cluster.stop()));
    process.off('exit', killAll);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (options.keepData || failed) out(`data dirs and server logs kept in ${baseDir}`);
    else rmSync(baseDir, { recursive: true, force: true });
  }
}

async function chooseEndpoints(cluster: Cluster, loadTo: 'leader' | 'all'): Promise<string[]> {
  if (loadTo === 'all') return cluster.endpoints;
  const leader = await findLeaderEndpoint(cluster.endpoints);
  if (!leader) throw new Error(`${cluster.label}: no member reports itself as leader`);
  return [leader];
}

function runWorkload(
  pool: ConnectionPool,
  workload: CompareWorkload,
  serverPids: readonly number[],
  options: CompareOptions,
): Promise<RunResult> {
  const common = {
    clients: workload.clients,
    stop: { kind: 'duration', ms: options.durationMs } as const,
    warmupMs: options.warmupMs,
    serverPids,
  };
  if (workload.kind === 'put') {
    return runPutWorkload(pool, {
      ...common,
      keySize: options.keySize,
      valueSize: options.valueSize,
      keySpace: options.keySpace,
      sequentialKeys: false,
    });
  }
  return runRangeWorkload(pool, {
    ...common,
    key: 'bench-range-key',
    prefix: false,
    consistency: workload.consistency,
    prefixKeys: 0,
    valueSize: options.valueSize,
  });
}
