// A follower frozen with SIGSTOP while the leader writes far past it: with a small --snapshot-count the
// leader snapshots and compacts its log beyond the follower's position (etcd 3.4 keeps 5000 entries behind
// each snapshot for slow followers, so more than that are written), and after SIGCONT the follower can
// only catch up through a snapshot. It must end with the same data (HashKV, every acknowledged put).
// A light steady load runs on the other members throughout: etcd 3.4's status reports a stale
// raftAppliedIndex after installing a snapshot until it applies the next entry, so catch-up is judged on
// entries applied after the snapshot.
import { expect } from 'vitest';
import { startCluster } from '../../support';
import { writeBurst } from '../harness/burst';
import { ClusterView } from '../harness/cluster-view';
import { metricSum } from '../harness/metrics';
import { expectConvergedAndIntact, type Verified } from '../harness/verify';
import { WriteLoad } from '../harness/write-load';

export interface SnapshotCatchUpOptions {
  size: number;
  snapshotCount: number;
  /** Puts (Raft entries) written while the follower is stopped, per round. */
  entriesWhileStopped: number;
  concurrency: number;
  /** Freeze/thaw rounds (a different follower each time when possible). */
  rounds: number;
  /** Pause between the steady writers' puts. */
  writerPauseMs: number;
}

export interface SnapshotCatchUpReport extends Verified {
  /** Per round: ms from SIGCONT until the follower had applied the leader's index. */
  catchUpMs: number[];
  /** Per round: the follower's applied index before the stop and the leader's when it was thawed. */
  indexes: Array<{ follower: string; leader: string }>;
  /** Per round: snapshots the follower received meanwhile (etcd_network_snapshot_receive_success). */
  snapshotsReceived: number[];
}

const RECEIVED = 'etcd_network_snapshot_receive_success';
const SENT = 'etcd_network_snapshot_send_success';

export async function runSnapshotCatchUp(options: SnapshotCatchUpOptions): Promise<SnapshotCatchUpReport> {
  const members = await startCluster({
    size: options.size,
    extraFlags: ['--snapshot-count', String(options.snapshotCount)],
  });
  const view = new ClusterView([...members]);
  const load = new WriteLoad('snapshot/', { pauseMs: options.writerPauseMs });
  const catchUpMs: number[] = [];
  const indexes: SnapshotCatchUpReport['indexes'] = [];
  const snapshotsReceived: number[] = [];
  const snapshotsSent: number[] = [];
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const { leader } = await view.waitForLeader();
      const followers = members.filter((m) => m !== leader);
      const follower = followers[(round - 1) % followers.length]!;
      const frozen = follower.process!;
      for (const member of members) {
        if (member === follower) await load.remove(member);
        else if (load.writerOf(member) === undefined) load.add(member);
      }
      const followerBefore = await view.status(follower);
      const receivedBefore = await metricSum(follower, RECEIVED);
      const sentBefore = await metricSum(leader, SENT);

      frozen.signal('SIGSTOP');
      let thawedAt: number;
      try {
        const acks = await writeBurst(view.client(leader), {
          prefix: `snapshot/r${round}/`,
          count: options.entriesWhileStopped,
          concurrency: options.concurrency,
          endpoint: leader.clientUrl,
        });
        for (const ack of acks) load.recordAck(ack);
        indexes.push({
          follower: followerBefore.appliedIndex.toString(),
          leader: (await view.status(leader)).appliedIndex.toString(),
        });
      } finally {
        frozen.signal('SIGCONT');
        thawedAt = performance.now();
      }
      await view.waitCaughtUp(follower, leader, 60_000);
      catchUpMs.push(performance.now() - thawedAt);
      snapshotsReceived.push((await metricSum(follower, RECEIVED)) - receivedBefore);
      snapshotsSent.push((await metricSum(leader, SENT)) - sentBefore);
    }

    const verified = await expectConvergedAndIntact(view, load, { context: 'snapshot catch-up' });
    console.log(
      `[snapshot catch-up] caught up in ${catchUpMs.map((ms) => ms.toFixed(0)).join(', ')} ms ` +
        `(applied index follower/leader at thaw: ${indexes.map((i) => `${i.follower}/${i.leader}`).join(', ')}); ` +
        `snapshots received ${snapshotsReceived.join(', ')}, sent ${snapshotsSent.join(', ')}`,
    );
    // Last, so that a member without these metrics still shows whether it caught up at all.
    snapshotsReceived.forEach((received, i) => {
      expect(
        received,
        `snapshots the follower received in round ${i + 1} (${RECEIVED})`,
      ).toBeGreaterThanOrEqual(1);
      expect(
        snapshotsSent[i],
        `snapshots the leader sent in round ${i + 1} (${SENT})`,
      ).toBeGreaterThanOrEqual(1);
    });
    return { ...verified, catchUpMs, indexes, snapshotsReceived };
  } finally {
    for (const member of members) member.process?.signal('SIGCONT');
    await load.stop();
    view.close();
  }
}
