// The side-by-side run: start a fresh cluster of each server, run every workload on each in turn
// (etcd, Cairn, etcd, Cairn, …) so that machine noise hits both alike, take the medians, and stop
// every server by PID at the end, also when something fails or the user presses Ctrl-C.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authenticate, BENCH_USER, enableBenchAuth } from '../auth/bench-auth';
import { ConnectionPool, createConnection } from '../grpc/connection-pool';
import { loadTls, type ConnectionSecurity, type TlsFiles } from '../grpc/security';
import type { TransportKind } from '../grpc/transport';
import type { RunResult } from '../report/run-result';
import { startCluster, type Cluster } from '../servers/cluster';
import { findLeaderEndpoint } from '../servers/leader';
import { clientTlsFlags, jwtTokenFlags, makeBenchPki, makeJwtKeys } from '../servers/pki';
import { runPutWorkload } from '../workloads/put';
import { runRangeWorkload } from '../workloads/range';
import { describeCairnBuild, loadAverage, machineDescription, versionOf } from './environment';
import {
  compareTableOf,
  displayName,
  formatPerTargetTable,
  formatRatioTable,
  type CompareTable,
} from './markdown-report';
import { reportRunTo, runInterleaved } from './interleave';
import type { CompareWorkload } from './workload-spec';
import { killOnExit } from '../servers/kill-on-exit';

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
  /**
   * https client URLs with --client-cert-auth on every target (a test CA made with openssl; the load
   * presents a client certificate). Default false.
   */
  tls?: boolean;
  /**
   * etcd auth on every target: the load runs as a non-root user with read-write on every key and sends
   * its token with each request. "simple" (etcd's default tokens) or "jwt" (RS256). Default "off".
   */
  auth?: 'off' | 'simple' | 'jwt';
}

interface RunningTarget {
  target: CompareTarget;
  cluster: Cluster;
  pool: ConnectionPool;
  /** Set when auth is on: a fresh token is fetched before every run (unmeasured). */
  refreshToken?: () => Promise<void>;
}

/** One line describing how the targets were secured, for the report. */
export function describeSecurity(options: Pick<CompareOptions, 'tls' | 'auth'>): string {
  const tls = options.tls ? 'TLS (https, client certificates, EC P-256)' : 'plaintext';
  const auth =
    (options.auth ?? 'off') === 'off'
      ? 'auth off'
      : `auth on (${options.auth === 'jwt' ? 'JWT RS256' : 'simple'} tokens, non-root user)`;
  return `${tls}, ${auth}`;
}

export async function runCompare(
  options: CompareOptions,
  out: (line: string) => void,
): Promise<CompareTable> {
  const baseDir = mkdtempSync(join(tmpdir(), 'cairn-bench-'));
  const clusters: Cluster[] = [];
  const running: RunningTarget[] = [];
  const killAll = (): void => clusters.forEach((cluster) => cluster.killNow());
  const removeExitHooks = killOnExit(killAll);
  let failed = false;

  try {
    out(`machine: ${machineDescription()}; load average before: ${loadAverage()}`);
    const auth = options.auth ?? 'off';
    const securityArgs: string[] = [];
    let tlsFiles: TlsFiles | undefined;
    if (options.tls) {
      const pki = makeBenchPki(join(baseDir, 'pki'));
      securityArgs.push(...clientTlsFlags(pki));
      tlsFiles = { caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile };
    }
    if (auth === 'jwt') securityArgs.push(...jwtTokenFlags(makeJwtKeys(join(baseDir, 'jwt'))));
    const security: ConnectionSecurity = tlsFiles ? { tls: loadTls(tlsFiles) } : {};
    if (options.tls || auth !== 'off') out(`security: ${describeSecurity(options)}`);
    for (const target of options.targets) {
      const build = target.label.startsWith('cairn') ? `; ${describeCairnBuild(target.command)}` : '';
      out(
        `starting ${options.members} × ${displayName(target.label)} (${target.command}: ${versionOf(target.command)}${build})`,
      );
      const cluster = await startCluster({
        label: target.label,
        command: target.command,
        extraArgs: [...target.extraArgs, ...securityArgs],
        members: options.members,
        baseDir: join(baseDir, target.label),
        ...(tlsFiles ? { tls: tlsFiles } : {}),
      });
      clusters.push(cluster);
      const endpoints = await chooseEndpoints(cluster, options.loadTo, security);
      const pool = new ConnectionPool(endpoints, options.conns, options.transport, security);
      await pool.ready();
      let refreshToken: (() => Promise<void>) | undefined;
      if (auth !== 'off') {
        const admin = createConnection(endpoints[0], 'grpc-js', security);
        try {
          await admin.ready(10_000);
          await enableBenchAuth(admin);
        } finally {
          admin.close();
        }
        refreshToken = async () => pool.setToken(await authenticate(pool.connections[0], BENCH_USER));
        await refreshToken();
      }
      running.push({ target, cluster, pool, ...(refreshToken ? { refreshToken } : {}) });
      out(
        `  ${displayName(target.label)}: PIDs ${cluster.pids.join(', ')}, load goes to ${endpoints.join(', ')}`,
      );
    }

    if (options.primeMs > 0) {
      const eachMs = Math.max(1000, Math.round(options.primeMs / options.workloads.length));
      for (const { target, cluster, pool, refreshToken } of running) {
        await refreshToken?.();
        out(
          `  priming ${displayName(target.label)}: ${options.workloads.map((w) => w.name).join(', ')}, ${eachMs / 1000} s each, unmeasured`,
        );
        for (const workload of options.workloads) {
          await runWorkload(pool, workload, cluster.pids, { ...options, durationMs: eachMs, warmupMs: 0 });
        }
      }
    }

    const labelOf = (entry: RunningTarget): string => entry.target.label;
    const results = await runInterleaved({
      workloads: options.workloads,
      runs: options.runs,
      targets: running,
      labelOf,
      runOne: async ({ cluster, pool, refreshToken }, workload) => {
        await refreshToken?.();
        return runWorkload(pool, workload, cluster.pids, options);
      },
      onResult: reportRunTo(out, options.runs, 7, labelOf),
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
      `Median of ${options.runs} interleaved ${options.durationMs / 1000}-second runs (after ${options.warmupMs / 1000} s warm-up each; each cluster primed with ${options.primeMs / 1000} s of the workloads first); ${options.members} member(s); ${options.conns} connection(s) over ${options.transport}; keys ${options.keySize} B over ${options.keySpace}, values ${options.valueSize} B; ${describeSecurity(options)}.`,
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
    removeExitHooks();
    if (options.keepData || failed) out(`data dirs and server logs kept in ${baseDir}`);
    else rmSync(baseDir, { recursive: true, force: true });
  }
}

async function chooseEndpoints(
  cluster: Cluster,
  loadTo: 'leader' | 'all',
  security: ConnectionSecurity,
): Promise<string[]> {
  if (loadTo === 'all') return cluster.endpoints;
  const leader = await findLeaderEndpoint(cluster.endpoints, security);
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
