// Leader failover, measured the same way for real etcd and for Cairn: start an N-member cluster of
// each (same etcd launch flags, same --heartbeat-interval and --election-timeout), then, round after
// round and alternating the targets so that machine noise hits both alike:
//   1. open-loop puts to every member (write-probe.ts) for a steady phase;
//   2. SIGKILL the leader (found through Maintenance/Status) and note the time;
//   3. poll Status on the survivors until one names a new leader, and wait for the first put sent
//      after the kill to be acknowledged;
//   4. restart the killed member on its data dir, wait for /health and for it to follow the new leader.
// Every server is stopped by PID at the end, also on failure or Ctrl-C; data dirs are removed after a
// clean run.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Http2Connection } from '../grpc/http2-connection';
import type { Connection } from '../grpc/transport';
import { describeCairnBuild, loadAverage, machineDescription, versionOf } from '../compare/environment';
import { displayName } from '../compare/markdown-report';
import { memberArgs, startCluster, type Cluster, type ClusterMember } from '../servers/cluster';
import { waitForHealthy } from '../servers/health';
import { ServerProcess } from '../servers/server-process';
import {
  formatRatioLines,
  formatRoundsLine,
  formatSummaryTable,
  summarize,
  type FailoverRound,
  type TargetSummary,
} from './report';
import { fetchStatus, type MemberStatus } from './status';
import { WriteProbe, type AckedPut } from './write-probe';
import { killOnExit } from '../servers/kill-on-exit';

const RESTART_TIMEOUT_MS = 60_000;

export interface FailoverTarget {
  /** "etcd" or "cairn" (also the member-name prefix). */
  label: string;
  command: string;
  extraArgs: readonly string[];
}

export interface FailoverOptions {
  targets: readonly FailoverTarget[];
  members: number;
  rounds: number;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  /** Puts per second in all, round-robin over the members. */
  ratePerSecond: number;
  valueSize: number;
  /** Load before each kill. */
  steadyMs: number;
  /** How long the killed member stays down after writes resumed. */
  downMs: number;
  /** Load after the restarted member follows the new leader, before the round ends. */
  settleMs: number;
  /** Status polling interval per survivor. */
  pollMs: number;
  /** Bound for the new leader and the first write after a kill, and for a restart. */
  timeoutMs: number;
  keepData: boolean;
}

export interface FailoverResult {
  rounds: FailoverRound[];
  summaries: TargetSummary[];
}

interface RunningTarget {
  target: FailoverTarget;
  cluster: Cluster;
  args: (member: ClusterMember) => string[];
  /** member_id (from Status) → member. */
  byId: Map<bigint, ClusterMember>;
  baseDir: string;
}

export async function runFailover(
  options: FailoverOptions,
  out: (line: string) => void,
): Promise<FailoverResult> {
  if (options.members < 3) throw new Error('a failover needs at least 3 members');
  const baseDir = mkdtempSync(join(tmpdir(), 'cairn-bench-failover-'));
  const running: RunningTarget[] = [];
  // Members are restarted (new processes), so kill whatever each member runs right now.
  const killAll = (): void => running.forEach(({ cluster }) => cluster.killNow());
  const removeExitHooks = killOnExit(killAll);
  let failed = false;
  const timing = [
    '--heartbeat-interval',
    String(options.heartbeatIntervalMs),
    '--election-timeout',
    String(options.electionTimeoutMs),
  ];

  try {
    out(`machine: ${machineDescription()}; load average before: ${loadAverage()}`);
    out(
      `${options.members} members per cluster, ${timing.join(' ')}; ${options.ratePerSecond} puts/s open loop over all members, values ${options.valueSize} B`,
    );
    for (const target of options.targets) {
      const build = target.label === 'cairn' ? `; ${describeCairnBuild(target.command)}` : '';
      out(
        `starting ${options.members} × ${displayName(target.label)} (${target.command}: ${versionOf(target.command)}${build})`,
      );
      const extraArgs = [...timing, ...target.extraArgs];
      const targetDir = join(baseDir, target.label);
      const cluster = await startCluster({
        label: target.label,
        command: target.command,
        extraArgs,
        members: options.members,
        baseDir: targetDir,
      });
      const entry: RunningTarget = {
        target,
        cluster,
        args: (member) => [...memberArgs(member, cluster.members), ...extraArgs],
        byId: new Map(),
        baseDir: targetDir,
      };
      running.push(entry);
      for (const member of cluster.members) {
        const status = await withConnection(member, (connection) => fetchStatus(connection, 5000));
        entry.byId.set(status.memberId, member);
      }
      out(
        `  ${displayName(target.label)}: PIDs ${cluster.pids.join(', ')}, extra flags: ${extraArgs.join(' ')}`,
      );
    }

    const rounds: FailoverRound[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      for (const entry of running) {
        const result = await runRound(entry, round, options);
        rounds.push(result);
        out(
          `  round ${round}/${options.rounds} ${displayName(entry.target.label).padEnd(5)} killed ${result.killed} (term ${result.termBefore}): ` +
            `new leader ${result.newLeader} (term ${result.termAfter}) seen after ${result.electionMs.toFixed(0)} ms, ` +
            `first write after ${result.firstWriteMs.toFixed(0)} ms; restarted as PID ${result.restartedPid}; ${result.acks} puts acknowledged, ${result.failures} failed  (load ${loadAverage()})`,
        );
      }
    }
    out(`load average after: ${loadAverage()}`);

    const summaries = options.targets.map((target) => summarize(target.label, rounds));
    out('');
    out(
      `Kill -9 of the leader of a ${options.members}-member cluster, ${options.rounds} rounds per target (interleaved); times in ms from SIGKILL.`,
    );
    out('');
    for (const line of formatSummaryTable(summaries)) out(line);
    out('');
    for (const target of options.targets) out(formatRoundsLine(target.label, rounds));
    if (summaries.length >= 2) {
      const etcd = summaries.find((summary) => summary.target === 'etcd') ?? summaries[0];
      for (const other of summaries.filter((summary) => summary !== etcd)) {
        for (const line of formatRatioLines(other, etcd)) out(line);
      }
    }
    return { rounds, summaries };
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    await Promise.all(running.map(({ cluster }) => cluster.stop()));
    removeExitHooks();
    if (options.keepData || failed) out(`data dirs and server logs kept in ${baseDir}`);
    else rmSync(baseDir, { recursive: true, force: true });
  }
}

async function runRound(
  entry: RunningTarget,
  round: number,
  options: FailoverOptions,
): Promise<FailoverRound> {
  const { cluster, target } = entry;
  const members = cluster.members;
  const statusConnections = members.map((member) => new Http2Connection(endpointOf(member)));
  const writeConnections: Connection[] = members.map((member) => new Http2Connection(endpointOf(member)));
  let probe: WriteProbe | undefined;
  try {
    await Promise.all([...statusConnections, ...writeConnections].map((c) => c.ready(10_000)));
    const before = await agreedLeader(members, statusConnections, options, 'before the kill');
    const oldLeader = entry.byId.get(before.leader);
    if (!oldLeader)
      throw new Error(`${target.label}: Status names an unknown leader ${before.leader.toString(16)}`);
    const oldIndex = members.indexOf(oldLeader);

    probe = new WriteProbe(writeConnections, {
      ratePerSecond: options.ratePerSecond,
      valueSize: options.valueSize,
      keyPrefix: `failover/${target.label}/${round}/`,
      maxInFlight: 5000,
    });
    await sleep(options.steadyMs);
    if (probe.acks === 0)
      throw new Error(`${target.label}: no put acknowledged in the steady phase before the kill`);
    const revisionBefore = probe.maxRevision;

    const activeProbe = probe;
    let killedAt = 0;
    const firstWrite = new Promise<AckedPut>((resolve) => {
      activeProbe.onAck = (put) => {
        if (killedAt > 0 && put.invokedAt > killedAt) {
          activeProbe.onAck = undefined;
          resolve(put);
        }
      };
    });
    killedAt = performance.now();
    oldLeader.process.killNow();

    const survivors = statusConnections.filter((_, i) => i !== oldIndex);
    const stopPolling = new AbortController();
    const [elected, resumed] = await Promise.all([
      withTimeout(
        firstNewLeader(survivors, before.leader, options.pollMs, stopPolling.signal),
        options.timeoutMs,
        `${target.label}: no survivor named a new leader within ${options.timeoutMs} ms of the kill`,
      ),
      withTimeout(
        firstWrite,
        options.timeoutMs,
        `${target.label}: no put sent after the kill was acknowledged within ${options.timeoutMs} ms`,
      ),
    ]).finally(() => stopPolling.abort());
    if (resumed.revision <= revisionBefore) {
      throw new Error(
        `${target.label}: the first put after the kill got revision ${resumed.revision}, not above ${revisionBefore}`,
      );
    }
    const newLeader = entry.byId.get(elected.status.leader);

    // Bring the killed member back on its data dir; it must rejoin and follow the new leader.
    await oldLeader.process.stop(); // already SIGKILLed: this waits for its exit
    await sleep(options.downMs);
    oldLeader.process = await ServerProcess.start({
      name: oldLeader.name,
      command: target.command,
      args: entry.args(oldLeader),
      logFile: join(entry.baseDir, `${oldLeader.name}.log`),
    });
    // A Node process starts slowly on a loaded machine: allow a restart more than the failover bound.
    await waitForHealthy(oldLeader.clientUrl, oldLeader.process, RESTART_TIMEOUT_MS + options.timeoutMs);
    statusConnections[oldIndex].close();
    statusConnections[oldIndex] = new Http2Connection(endpointOf(oldLeader));
    await statusConnections[oldIndex].ready(10_000);
    await agreedLeader(
      members,
      statusConnections,
      { ...options, timeoutMs: RESTART_TIMEOUT_MS },
      `after ${oldLeader.name} restarted`,
    );
    await sleep(options.settleMs);

    return {
      target: target.label,
      round,
      killed: oldLeader.name,
      restartedPid: oldLeader.process.pid,
      newLeader: newLeader?.name ?? elected.status.leader.toString(16),
      termBefore: before.raftTerm.toString(),
      termAfter: elected.status.raftTerm.toString(),
      electionMs: elected.seenAt - killedAt,
      firstWriteMs: resumed.ackedAt - killedAt,
      acks: probe.acks,
      failures: probe.failures,
    };
  } finally {
    probe?.stop();
    for (const connection of [...statusConnections, ...writeConnections]) connection.close();
  }
}

function endpointOf(member: ClusterMember): string {
  return member.clientUrl.replace(/^http:\/\//, '');
}

/** Polls every member's Status until all name the same leader (a member of the cluster). */
async function agreedLeader(
  members: readonly ClusterMember[],
  connections: readonly Connection[],
  options: FailoverOptions,
  when: string,
): Promise<MemberStatus> {
  const deadline = performance.now() + options.timeoutMs;
  let last = 'no answer yet';
  while (performance.now() < deadline) {
    try {
      const statuses = await Promise.all(connections.map((connection) => fetchStatus(connection, 2000)));
      const leader = statuses[0].leader;
      if (leader !== 0n && statuses.every((status) => status.leader === leader)) {
        return statuses.find((status) => status.memberId === leader) ?? statuses[0];
      }
      last = statuses.map((status, i) => `${members[i].name} → ${status.leader.toString(16)}`).join(', ');
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(options.pollMs);
  }
  throw new Error(`members do not agree on a leader ${when} within ${options.timeoutMs} ms (${last})`);
}

/** The first Status answer from any survivor naming a leader other than `oldLeader`, and when it came. */
function firstNewLeader(
  survivors: readonly Connection[],
  oldLeader: bigint,
  pollMs: number,
  cancelled: AbortSignal,
): Promise<{ status: MemberStatus; seenAt: number }> {
  return new Promise((resolve) => {
    let done = false;
    cancelled.addEventListener('abort', () => (done = true));
    for (const connection of survivors) {
      const poll = (): void => {
        if (done) return;
        fetchStatus(connection, 1000).then(
          (status) => {
            if (done) return;
            if (status.leader !== 0n && status.leader !== oldLeader) {
              done = true;
              resolve({ status, seenAt: performance.now() });
            } else setTimeout(poll, pollMs);
          },
          () => {
            if (!done) setTimeout(poll, pollMs);
          },
        );
      };
      poll();
    }
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function withConnection<T>(
  member: ClusterMember,
  use: (connection: Connection) => Promise<T>,
): Promise<T> {
  const connection = new Http2Connection(endpointOf(member));
  try {
    await connection.ready(10_000);
    return await use(connection);
  } finally {
    connection.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
