// The corner injector of 'corners' runs: it steers the cluster into the situations where the receiver
// rules of AppendEntries and the snapshot and membership paths bite, which random faults alone reach
// rarely or never:
// - leaders that take a burst of proposals just as they are cut off (from everyone, or from all but one
//   follower) and sometimes crash at once: long uncommitted suffixes of old terms, left on them and on
//   the follower that got part of the burst, again and again;
// - old AppendEntries delivered again after newer ones;
// - leaders that snapshot and compact everything they applied, so a node rejoining with a divergent
//   suffix is sent a snapshot;
// - learners cut off from the leader and promoted while cut off.
// It draws from its own random stream, so the rest of the run draws exactly what a default run would.
import { ConfChangeType, type NodeId } from '../../src';
import type { SimCluster } from './cluster';
import type { SimNode } from './node';
import type { SimRandom } from './random';
import type { CornerRates } from './scenario';

/** Links cut by the injector, healed at `endsAt`. */
interface Cut {
  endsAt: number;
  links: [NodeId, NodeId][];
}

export class CornerInjector {
  private cuts: Cut[] = [];
  private promotionSeq = 0;

  constructor(
    private readonly cluster: SimCluster,
    private readonly rng: SimRandom,
    private readonly rates: CornerRates,
  ) {
    cluster.net.enableReplay();
  }

  step(): void {
    const { rng, rates, cluster } = this;
    if (rng.chance(rates.burstRate)) this.burstThenCutOff();
    if (rng.chance(rates.replayRate)) {
      const msg = cluster.net.replayOld(cluster.now, rng.between(2, 20), rng);
      if (msg)
        cluster.trace.record(() => `network replays an old append n${msg.from}->n${msg.to} i${msg.index}`);
    }
    if (rng.chance(rates.snapshotAllRate)) this.snapshotEverything();
    if (rng.chance(rates.learnerPartitionRate)) this.promoteCutOffLearner();
    this.healDue();
  }

  /** Faults stop: every link the injector cut is healed. */
  calm(): void {
    this.cuts = [];
  }

  private others(id: NodeId): SimNode[] {
    return [...this.cluster.nodes.values()].filter((n) => n.id !== id && !n.retired);
  }

  /**
   * The leader is cut off from everyone, or from everyone but one follower that keeps hearing it, and
   * then takes a burst of proposals it can replicate to that follower at most. Sometimes it crashes at
   * once. The rest elect a new leader and commit past the burst's indexes.
   */
  private burstThenCutOff(): void {
    const { cluster, rng } = this;
    const leader = cluster.leader();
    if (!leader) return;
    const others = this.others(leader.id);
    if (others.length === 0) return;
    const companion = rng.chance(0.6) ? rng.pick(others) : undefined;
    const links: [NodeId, NodeId][] = [];
    for (const other of others) {
      if (other === companion) continue;
      links.push([leader.id, other.id], [other.id, leader.id]);
    }
    for (const [from, to] of links) cluster.net.cut(from, to);
    const ticks = rng.between(2, 6) * cluster.scenario.electionTick;
    this.cuts.push({ endsAt: cluster.now + ticks, links });
    const count = rng.between(4, 16);
    cluster.stats.cornerLeaderBursts++;
    cluster.trace.record(
      () =>
        `corner: n${leader.id} cut off${companion ? ` (but for n${companion.id})` : ''} for ${ticks} ticks, takes a burst of ${count}`,
    );
    const payloads = Array.from({ length: count }, (_, i) =>
      Buffer.from(`burst-${cluster.now}-${i}`, 'utf8'),
    );
    cluster.act(leader, (raft) => raft.proposeBatch(payloads));
    if (rng.chance(this.rates.burstCrashShare)) cluster.crash(leader, 'crash right after its burst');
  }

  /** The leader snapshots at its applied index and compacts its whole log behind it. */
  private snapshotEverything(): void {
    const leader = this.cluster.leader();
    if (!leader) return;
    const disk = leader.disk;
    const applied = disk.stateMachine.applied;
    if (applied <= disk.snapshotIndex() || applied <= disk.compactedTo()) return;
    disk.snapshotAndCompact(applied);
    this.cluster.stats.snapshotsCreated++;
    this.cluster.trace.record(
      () => `corner: n${leader.id} snapshots and compacts everything up to ${applied}`,
    );
  }

  /** A learner is cut off from the leader (both ways) and the leader proposes its promotion. */
  private promoteCutOffLearner(): void {
    const { cluster, rng } = this;
    const leader = cluster.leader();
    if (!leader) return;
    const learners = leader.disk.stateMachine.confState.learners.filter(
      (id) => !cluster.nodes.get(id)?.retired,
    );
    if (learners.length === 0) return;
    const learner = rng.pick(learners);
    const links: [NodeId, NodeId][] = [
      [leader.id, learner],
      [learner, leader.id],
    ];
    for (const [from, to] of links) cluster.net.cut(from, to);
    this.cuts.push({ endsAt: cluster.now + rng.between(5, 40), links });
    cluster.trace.record(() => `corner: learner n${learner} cut off from leader n${leader.id}, promoted`);
    const context = Buffer.from(`corner-promote-${++this.promotionSeq}`, 'utf8');
    cluster.act(leader, (raft) =>
      raft.proposeConfChange({ type: ConfChangeType.AddNode, nodeId: learner, context }),
    );
  }

  private healDue(): void {
    const { cluster } = this;
    const due = this.cuts.filter((cut) => cut.endsAt <= cluster.now);
    if (due.length === 0) return;
    for (const cut of due) for (const [from, to] of cut.links) cluster.net.uncut(from, to);
    this.cuts = this.cuts.filter((cut) => cut.endsAt > cluster.now);
    cluster.trace.record(() => 'corner: cut links healed');
  }
}
