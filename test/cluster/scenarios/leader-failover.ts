// kill -9 of the leader under a steady write load through every member's endpoint: a new leader is elected
// within a bound, writes resume with higher revisions, the old leader restarts on its data dir and catches
// up, and in the end every member holds every acknowledged put with equal HashKV. Measures how long the
// election and the resumption of writes took after each kill.
import { expect } from 'vitest';
import { killMember, restartMember, sleep, startCluster, waitFor } from '../../support';
import { ClusterView } from '../harness/cluster-view';
import { expectConvergedAndIntact, type Verified } from '../harness/verify';
import { WriteLoad } from '../harness/write-load';

export interface FailoverOptions {
  size: number;
  /** How many times the current leader is killed (and restarted). */
  kills: number;
  /** Acknowledged puts (all writers together) between one recovery and the next kill. */
  putsBetweenKills: number;
  /** How long the killed leader stays down after the new leader is in place. */
  downMs: number;
  writerPauseMs: number;
  /** A new leader must be seen within this after the kill. */
  electionBoundMs: number;
  /** Steady load after each recovery before the next kill, scaled by 0.5 + random() (soak: minutes). */
  holdMs?: number;
  random?: () => number;
}

export interface FailoverReport extends Verified {
  /** Per kill: ms from SIGKILL to a surviving member reporting itself leader (all survivors agreeing). */
  electionMs: number[];
  /** Per kill: ms from SIGKILL to the first acknowledged put invoked after it. */
  resumeMs: number[];
  failedAttempts: number;
}

export async function runLeaderFailover(options: FailoverOptions): Promise<FailoverReport> {
  const members = await startCluster({ size: options.size });
  const view = new ClusterView([...members]);
  const load = new WriteLoad(`failover-${options.size}/`, { pauseMs: options.writerPauseMs });
  const electionMs: number[] = [];
  const resumeMs: number[] = [];
  try {
    for (const member of members) load.add(member);
    await load.waitForAcks(options.putsBetweenKills, 'before the first kill');

    for (let kill = 1; kill <= options.kills; kill++) {
      const context = `kill ${kill} of ${options.kills}, ${options.size} members`;
      const { leader: old, status: oldStatus } = await view.waitForLeader();
      const revisionBefore = load.maxRevision();
      const killedAt = performance.now();
      await killMember(old);
      const survivors = members.filter((m) => m !== old);

      const elected = await view.waitForLeader({
        among: survivors,
        not: old,
        timeoutMs: options.electionBoundMs,
        intervalMs: 20,
      });
      electionMs.push(elected.seenAt - killedAt);
      // Throws unless the new leader's term (as of its first applied entry) is above the old one.
      await view.waitForTermAbove(elected.leader, oldStatus.term);

      const resumed = await waitFor(() => load.acks.find((a) => a.invokedAt > killedAt), {
        timeoutMs: options.electionBoundMs,
        what: `an acknowledged put invoked after the kill of ${old.name} (${context})`,
      });
      resumeMs.push(resumed.ackedAt - killedAt);
      expect(resumed.revision, `revision of the first put after the kill (${context})`).toBeGreaterThan(
        revisionBefore,
      );
      await load.waitForAcks(options.putsBetweenKills, `after the new leader (${context})`);

      await sleep(options.downMs);
      await restartMember(old);
      const writer = load.writerOf(old);
      if (writer !== undefined) {
        await load.waitForAcks(3, `through ${old.name} after its restart (${context})`, { writer });
      }
      if (options.holdMs !== undefined)
        await sleep(options.holdMs * (0.5 + (options.random ?? Math.random)()));
    }

    const verified = await expectConvergedAndIntact(view, load, { context: `${options.size} members` });
    return { ...verified, electionMs, resumeMs, failedAttempts: load.failures.length };
  } finally {
    await load.stop();
    view.close();
  }
}

export function describeFailover(size: number, report: FailoverReport, target: string): string {
  const ms = (list: number[]) => list.map((v) => v.toFixed(0)).join(', ');
  return (
    `[${target}] ${size}-member leader failover: election ${ms(report.electionMs)} ms; ` +
    `writes resumed ${ms(report.resumeMs)} ms after the kill; ${report.acks} acknowledged puts ` +
    `(${report.failedAttempts} failed attempts retried), converged at revision ${report.revision}`
  );
}
