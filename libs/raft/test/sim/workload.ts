// What clients and operators do to the cluster: propose writes (unique payloads), issue linearizable
// reads, snapshot + compact, transfer leadership, and change membership (add learner, promote, remove,
// re-add under a new ID).
import {
  ConfChangeType,
  RaftErrorCode,
  isRaftError,
  type ConfChange,
  type NodeId,
  type RaftNode,
} from '../../src';
import { MARKER_PREFIX, type SimCluster } from './cluster';
import type { SimNode } from './node';
import type { SimRandom } from './random';
import type { Scenario } from './scenario';

/** Members that join later get IDs from here up, never reusing one. */
const FIRST_JOINER_ID = 100n;

export class Workload {
  private proposalSeq = 0;
  private readSeq = 0;
  private markerSeq = 0;
  private confChangeSeq = 0;
  private nextJoinerId = FIRST_JOINER_ID;

  constructor(
    private readonly cluster: SimCluster,
    private readonly rng: SimRandom,
    private readonly scenario: Scenario,
  ) {}

  step(): void {
    const { rng, scenario: s } = this;
    if (rng.chance(s.proposalRate)) {
      const count = rng.between(1, 3);
      // The server batches the proposals of one event-loop turn; sometimes we do too.
      if (count > 1 && rng.chance(0.5)) this.proposeBatchSomewhere(count);
      else for (let i = 0; i < count; i++) this.proposeSomewhere();
    }
    if (rng.chance(s.readRate)) this.readSomewhere();
    if (rng.chance(s.compactionRate)) this.compactSomewhere();
    if (rng.chance(s.transferRate)) this.transferLeadership();
    if (rng.chance(s.confChangeRate)) this.changeMembership();
  }

  /** A write the liveness phase waits for; returns its payload. */
  proposeMarker(leader: SimNode): string {
    const payload = `${MARKER_PREFIX}${++this.markerSeq}`;
    this.propose(leader, payload);
    return payload;
  }

  private proposeSomewhere(): void {
    const node = this.proposer();
    if (node) this.propose(node, `p${++this.proposalSeq}`);
  }

  private proposeBatchSomewhere(count: number): void {
    const node = this.proposer();
    if (!node) return;
    const payloads = Array.from({ length: count }, () => `p${++this.proposalSeq}`);
    const { stats, trace } = this.cluster;
    stats.proposals += count;
    trace.record(() => `n${node.id} client proposes batch ${payloads.join(' ')}`);
    this.cluster.act(node, (raft) => {
      const data = payloads.map((payload) => Buffer.from(payload, 'utf8'));
      if (!this.attempt(() => raft.proposeBatch(data))) stats.proposalsDropped += count;
    });
  }

  /** Clients talk to the leader half the time and to any running node otherwise. */
  private proposer(): SimNode | undefined {
    const up = this.cluster.up();
    if (up.length === 0) return undefined;
    const leader = this.cluster.leader();
    return leader && this.rng.chance(0.5) ? leader : this.rng.pick(up);
  }

  private propose(node: SimNode, payload: string): void {
    const { stats, trace } = this.cluster;
    stats.proposals++;
    trace.record(() => `n${node.id} client proposes ${payload}`);
    this.cluster.act(node, (raft) => {
      if (!this.attempt(() => raft.propose(Buffer.from(payload, 'utf8')))) stats.proposalsDropped++;
    });
  }

  private readSomewhere(): void {
    const up = this.cluster.up();
    if (up.length === 0) return;
    const node = this.rng.pick(up);
    const context = Buffer.from(`read-${++this.readSeq}`, 'utf8');
    this.cluster.stats.readsIssued++;
    this.cluster.checker.readIssued(node.id, context);
    this.cluster.trace.record(
      () =>
        `n${node.id} client reads (read-${this.readSeq}, committed so far ${this.cluster.checker.maxCommitted})`,
    );
    this.cluster.act(node, (raft) => raft.readIndex(context));
  }

  /** The app snapshots its state at its applied index and compacts the log up to a few entries behind. */
  private compactSomewhere(): void {
    const up = this.cluster.up();
    if (up.length === 0) return;
    const node = this.rng.pick(up);
    const disk = node.disk;
    const applied = disk.stateMachine.applied;
    if (applied - disk.snapshotIndex() < 3) return;
    const compactTo = Math.max(disk.compactedTo() + 1, applied - this.rng.int(4));
    disk.snapshotAndCompact(compactTo);
    this.cluster.stats.snapshotsCreated++;
    this.cluster.trace.record(() => `n${node.id} snapshot at ${applied}, log compacted to ${compactTo}`);
  }

  private transferLeadership(): void {
    const leader = this.cluster.leader();
    if (!leader) return;
    const others = leader.disk.stateMachine.confState.voters.filter((id) => id !== leader.id);
    if (others.length === 0) return;
    const target = this.rng.pick(others);
    this.cluster.stats.transfers++;
    this.cluster.trace.record(() => `n${leader.id} asked to transfer leadership to n${target}`);
    this.cluster.act(leader, (raft) => raft.transferLeader(target));
  }

  private changeMembership(): void {
    const leader = this.cluster.leader();
    if (!leader) return;
    const { voters, learners } = leader.disk.stateMachine.confState;
    const { minVoters, maxVoters } = this.scenario;
    let cc: ConfChange | undefined;
    const learner = learners.length > 0 ? this.rng.pick(learners) : undefined;
    if (learner !== undefined && this.rng.chance(0.8)) {
      cc = this.confChange(
        this.rng.chance(0.85) ? ConfChangeType.AddNode : ConfChangeType.RemoveNode,
        learner,
      );
    } else if (
      learners.length === 0 &&
      voters.length < maxVoters &&
      (voters.length <= minVoters || this.rng.chance(0.5))
    ) {
      cc = this.confChange(ConfChangeType.AddLearnerNode, this.nextJoinerId++);
    } else if (voters.length > minVoters) {
      cc = this.confChange(ConfChangeType.RemoveNode, this.rng.pick(voters));
    }
    if (!cc) return;
    const change = cc;
    this.cluster.trace.record(
      () => `n${leader.id} operator proposes ${ConfChangeType[change.type]} n${change.nodeId}`,
    );
    this.cluster.act(leader, (raft: RaftNode) => {
      this.attempt(() => raft.proposeConfChange(change));
    });
  }

  private confChange(type: ConfChangeType, nodeId: NodeId): ConfChange {
    return { type, nodeId, context: Buffer.from(`cc-${++this.confChangeSeq}`, 'utf8') };
  }

  /** Runs a proposal; a dropped one (no leader, transfer, pending conf change) is an expected outcome. */
  private attempt(propose: () => void): boolean {
    try {
      propose();
      return true;
    } catch (err) {
      if (isRaftError(err, RaftErrorCode.ProposalDropped)) return false;
      throw err;
    }
  }
}
