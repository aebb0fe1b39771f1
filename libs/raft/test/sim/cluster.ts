// The simulated cluster: node lifecycles (bootstrap, join, crash, restart, retire), the clock, message
// delivery, and the rule that every action on a node is followed by draining its Readys and checking
// the invariants.
import {
  ConfChangeType,
  MessageType,
  NONE,
  RaftErrorCode,
  RaftNode,
  ReadOnlyOption,
  SnapshotStatus,
  StateType,
  describeMessage,
  isRaftError,
  type ConfChange,
  type Entry,
  type Message,
  type NodeId,
  type RaftConfig,
  type Snapshot,
  type Storage,
} from '../../src';
import { NodeDisk } from './disk';
import { handleReady, type DriverHooks } from './driver';
import type { SafetyChecker } from './invariants';
import type { InFlight, SimNetwork } from './network';
import { SimNode } from './node';
import type { SimRandom } from './random';
import type { Scenario } from './scenario';
import type { SimStats } from './stats';
import type { SimTrace } from './trace';
import { InvariantViolation, violated } from './violation';

export const MARKER_PREFIX = 'marker-';
const MARKER_FIRST_BYTE = MARKER_PREFIX.charCodeAt(0);
/** Readys one action may produce before we call it a livelock in the core. */
const MAX_READYS_PER_ACTION = 100;
/** Delivery rounds per tick: messages sent with zero delay are delivered in the next round. */
const ROUNDS_PER_TICK = 4;

export class SimCluster implements DriverHooks {
  readonly nodes = new Map<NodeId, SimNode>();
  now = 0;
  /** Payload → index, for the markers the liveness phase waits on. */
  readonly markerApplied = new Map<string, number>();
  private readonly deferred: (() => void)[] = [];
  private runningDeferred = false;
  private readonly retireAt = new Map<NodeId, number>();
  /** Newest send order of the AppendEntries delivered per `from>to@term` (to notice older ones arriving later). */
  private readonly appendHighWater = new Map<string, number>();
  /** Promotions already counted as a corner (by conf change context). */
  private readonly promotionsCounted = new Set<string>();

  constructor(
    readonly scenario: Scenario,
    private readonly rng: SimRandom,
    readonly net: SimNetwork,
    readonly checker: SafetyChecker,
    readonly trace: SimTrace,
    readonly stats: SimStats,
  ) {}

  // ---- lifecycle --------------------------------------------------------------------------------

  bootstrap(ids: NodeId[]): void {
    for (const id of ids) {
      const disk = new NodeDisk();
      RaftNode.bootstrap(
        disk.wal,
        ids.map((peer) => ({ id: peer })),
      );
      disk.hardState = { ...disk.wal.initialState().hardState };
      this.checker.adoptBootstrap(id, disk);
      this.nodes.set(id, new SimNode(id, disk));
    }
    this.trace.record(() => `bootstrap ${ids.map((id) => `n${id}`).join(' ')}`);
    for (const node of this.nodes.values()) this.launch(node, node.disk.wal, 0);
  }

  crash(node: SimNode, why: string): void {
    if (!node.raft) return;
    this.stopProcess(node);
    this.stats.crashes++;
    this.trace.record(() => `n${node.id} ${why}: loses its process and everything not persisted`);
    this.loseInFlight(node.id);
  }

  /** A new process over what the node persisted, resuming at its state machine's durable applied index. */
  restart(node: SimNode): void {
    if (node.raft || node.retired) return;
    const sm = node.disk.stateMachine;
    const snapshot = node.disk.wal.snapshot();
    if (snapshot.metadata.index > sm.applied) {
      // It persisted a snapshot from the leader but crashed before installing it: install it now.
      this.checker.beforeRestore(node.id, sm, snapshot);
      sm.restore(snapshot);
      this.trace.record(
        () => `n${node.id} installs its persisted snapshot i${snapshot.metadata.index} on restart`,
      );
    }
    this.stats.restarts++;
    const hs = node.disk.hardState;
    this.trace.record(
      () =>
        `n${node.id} restart: term=${hs.term} vote=${hs.vote} commit=${hs.commit} applied=${sm.applied} ` +
        `log=(${node.disk.compactedTo()}, ${node.disk.wal.lastIndex()}] voters=${sm.confState.voters.join(',')}`,
    );
    const raft = this.launch(node, node.disk.storageForRestart(), sm.applied);
    const resumedAt = raft.status().applied;
    if (resumedAt < sm.applied) {
      violated(
        'Restart resumes at the durable applied index',
        `n${node.id} applied >= ${sm.applied}`,
        `${resumedAt}`,
      );
    }
  }

  /** A removed member is stopped for good (its ID is never reused). */
  retire(node: SimNode): void {
    if (node.retired) return;
    this.trace.record(() => `n${node.id} retired (removed from the cluster)`);
    if (node.raft) this.stopProcess(node);
    node.retired = true;
    this.retireAt.delete(node.id);
    this.loseInFlight(node.id);
  }

  retireDue(): void {
    for (const [id, at] of this.retireAt) {
      const node = this.nodes.get(id);
      if (node && at <= this.now) this.retire(node);
    }
  }

  retireRemovedNow(): void {
    for (const id of [...this.retireAt.keys()]) {
      const node = this.nodes.get(id);
      if (node) this.retire(node);
    }
  }

  // ---- queries ----------------------------------------------------------------------------------

  up(): SimNode[] {
    return [...this.nodes.values()].filter((node) => node.up);
  }

  down(): SimNode[] {
    return [...this.nodes.values()].filter((node) => !node.up && !node.retired);
  }

  /** The live leader with the highest term (a deposed leader may not know it yet). */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const node of this.nodes.values()) {
      if (!node.up || node.role !== StateType.Leader) continue;
      if (!best || node.disk.hardState.term > best.disk.hardState.term) best = node;
    }
    return best;
  }

  describeNodes(): string {
    return [...this.nodes.values()]
      .map((n) => {
        const hs = n.disk.hardState;
        const sm = n.disk.stateMachine;
        const state = n.retired ? 'retired' : n.up ? n.role : 'down';
        return (
          `n${n.id} ${state} lead=${n.lead} term=${hs.term} vote=${hs.vote} commit=${hs.commit} ` +
          `applied=${sm.applied} last=${n.disk.wal.lastIndex()} voters=[${sm.confState.voters.join(',')}] ` +
          `learners=[${sm.confState.learners.join(',')}]`
        );
      })
      .join('\n');
  }

  // ---- driving ----------------------------------------------------------------------------------

  advanceClock(): void {
    this.now++;
    this.stats.ticks++;
    this.trace.tick = this.now;
  }

  /** Runs one action against a node's RaftNode, then drains its Readys and checks the invariants. */
  act(node: SimNode, action: (raft: RaftNode) => void): void {
    const raft = node.raft;
    if (!raft) return;
    try {
      action(raft);
    } catch (err) {
      // The server ignores these too: a forwarded proposal with no leader, a response from a removed peer.
      if (
        !isRaftError(err, RaftErrorCode.ProposalDropped) &&
        !isRaftError(err, RaftErrorCode.StepPeerNotFound)
      ) {
        throw coreFailure(node.id, err);
      }
      this.trace.record(() => `n${node.id} ignored: ${(err as Error).message}`);
    }
    this.settle(node);
    this.runDeferred();
    this.checker.checkLeaderCompleteness((id) => (this.nodes.get(id) as SimNode).disk);
  }

  /** Every running node ticks once, except paused ones and those whose clock runs slow this tick. */
  tickAll(skipChance = 0): void {
    for (const node of this.rng.shuffle(this.up())) {
      if (node.pausedUntil > this.now || this.rng.chance(skipChance)) continue;
      this.act(node, (raft) => {
        raft.tick();
        // A deferred commit broadcast goes out within a tick, as the server's driver sends it within 2 ms.
        raft.broadcastCommit();
      });
    }
  }

  deliverDue(): void {
    for (let round = 0; round < ROUNDS_PER_TICK; round++) {
      const due = this.net.takeDue(this.now);
      if (due.length === 0) return;
      for (const item of due) this.deliver(item);
    }
  }

  // ---- DriverHooks ------------------------------------------------------------------------------

  /** Everything a node sends passes here: the wire is where "persist before you promise" is checked. */
  send(from: SimNode, msg: Message): void {
    this.trace.record(() => `send ${describeMessage(msg)}`);
    this.checker.beforeSend(from.id, from.disk, msg);
    if (msg.type === MessageType.Snap) this.stats.snapshotsSent++;
    if (!this.net.send(msg, this.now, from.incarnation))
      this.lose(msg, from.incarnation, 'dropped by the network');
  }

  confChangeApplied(node: SimNode, cc: ConfChange): void {
    this.stats.confChangesApplied++;
    const target = this.nodes.get(cc.nodeId);
    if (
      cc.type === ConfChangeType.AddNode &&
      (this.net.isCut(node.id, cc.nodeId) || this.net.isCut(cc.nodeId, node.id))
    ) {
      const key = Buffer.from(cc.context).toString('hex');
      if (!this.promotionsCounted.has(key)) {
        this.promotionsCounted.add(key);
        this.stats.cornerLearnerPromotedMidPartition++;
      }
    }
    if (cc.type === ConfChangeType.RemoveNode) {
      if (target && !target.retired && !this.retireAt.has(cc.nodeId)) {
        this.stats.membersRemoved++;
        // Like an operator stopping the removed member a little later.
        this.retireAt.set(cc.nodeId, this.now + this.rng.int(20));
      }
    } else if (!target) {
      this.stats.membersAdded++;
      const joiner = new SimNode(cc.nodeId, new NodeDisk());
      this.nodes.set(cc.nodeId, joiner);
      this.trace.record(() => `n${cc.nodeId} joins with an empty disk (added as seen by n${node.id})`);
      this.deferred.push(() => this.launch(joiner, joiner.disk.wal, 0));
    }
  }

  entryApplied(_node: SimNode, entry: Entry): void {
    // Only the liveness phase's markers are looked up later; the first byte check keeps this cheap.
    if (entry.data[0] !== MARKER_FIRST_BYTE) return;
    const payload = Buffer.from(entry.data).toString('utf8');
    if (payload.startsWith(MARKER_PREFIX)) this.markerApplied.set(payload, entry.index);
  }

  leaderCommitted(node: SimNode): void {
    const { term, commit } = node.disk.hardState;
    this.checker.checkLeaderCommit(
      node.id,
      term,
      commit,
      node.disk.stateMachine.confState.voters,
      (id) => this.nodes.get(id)?.disk,
    );
  }

  snapshotRestored(node: SimNode, snapshot: Snapshot): void {
    this.stats.snapshotsRestored++;
    this.trace.record(
      () => `n${node.id} installed snapshot i${snapshot.metadata.index} t${snapshot.metadata.term}`,
    );
  }

  // ---- internals --------------------------------------------------------------------------------

  private config(id: NodeId, storage: Storage, applied: number): RaftConfig {
    const s = this.scenario;
    return {
      id,
      electionTick: s.electionTick,
      heartbeatTick: s.heartbeatTick,
      storage,
      random: this.rng.fork(),
      applied,
      maxSizePerMsg: s.maxSizePerMsg,
      maxInflightMsgs: s.maxInflightMsgs,
      checkQuorum: s.checkQuorum,
      preVote: s.preVote,
      deferCommitBroadcast: s.deferCommitBroadcast,
      readOnlyOption: ReadOnlyOption.Safe,
    };
  }

  private launch(node: SimNode, storage: Storage, applied: number): RaftNode {
    let raft: RaftNode;
    try {
      raft = new RaftNode(this.config(node.id, storage, applied));
    } catch (err) {
      throw coreFailure(node.id, err);
    }
    node.raft = raft;
    node.incarnation++;
    node.role = StateType.Follower;
    node.lead = NONE;
    this.act(node, () => undefined);
    return raft;
  }

  private stopProcess(node: SimNode): void {
    node.raft = undefined;
    node.crashPoint = undefined;
    node.pausedUntil = 0;
    node.role = StateType.Follower;
    node.lead = NONE;
    this.checker.nodeDown(node.id);
  }

  private settle(node: SimNode): void {
    let readys = 0;
    while (node.raft?.hasReady()) {
      if (++readys > MAX_READYS_PER_ACTION) {
        violated('Ready drains', `n${node.id} to run out of Readys`, `${MAX_READYS_PER_ACTION} in a row`);
      }
      if (!handleReady(node, this)) return;
    }
    if (node.raft) this.observe(node);
  }

  /** Records role changes, and checks that a drained node has nothing left unpersisted. */
  private observe(node: SimNode): void {
    const raft = node.raft as RaftNode;
    const soft = raft.softState();
    const persisted = node.disk.hardState;
    if (soft.raftState !== node.role || soft.lead !== node.lead) {
      const live = raft.status().hardState;
      if (live.term !== persisted.term || live.vote !== persisted.vote || live.commit !== persisted.commit) {
        violated(
          'Hard state is persisted once Ready drains',
          `n${node.id} persisted term=${live.term} vote=${live.vote} commit=${live.commit}`,
          `term=${persisted.term} vote=${persisted.vote} commit=${persisted.commit}`,
        );
      }
      this.trace.record(
        () => `n${node.id} is ${soft.raftState} in term ${persisted.term} (leader n${soft.lead})`,
      );
      node.role = soft.raftState;
      node.lead = soft.lead;
    }
    this.checker.observeRole(node.id, soft, persisted.term);
  }

  private deliver(item: InFlight): void {
    const { msg } = item;
    const target = this.nodes.get(msg.to);
    if (!target?.raft) return this.lose(msg, item.senderIncarnation, `n${msg.to} is down`);
    if (this.net.isCut(msg.from, msg.to)) return this.lose(msg, item.senderIncarnation, 'link cut');
    if (target.pausedUntil > this.now) return this.net.hold(item, target.pausedUntil);
    this.stats.delivered++;
    this.countCorners(target, item);
    this.trace.record(() => `deliver ${describeMessage(msg)}`);
    this.act(target, (raft) => raft.step(msg));
    if (msg.type === MessageType.Snap)
      this.reportSnapshot(msg, item.senderIncarnation, SnapshotStatus.Finish);
  }

  /**
   * Counts the corner situations a message is about to create at its receiver (see stats.ts), judged from
   * the receiver's persisted log (which is its whole log: every action drains its Readys).
   */
  private countCorners(target: SimNode, item: InFlight): void {
    const { msg } = item;
    const disk = target.disk;
    if (msg.term < disk.hardState.term) return; // refused as stale
    if (msg.type === MessageType.Snap && msg.snapshot) {
      const { index, term } = msg.snapshot.metadata;
      const last = disk.wal.lastIndex();
      if (index > disk.hardState.commit && last > disk.hardState.commit && disk.termAt(index) !== term) {
        this.stats.cornerSnapshotOverDivergentSuffix++;
      }
      return;
    }
    if (msg.type !== MessageType.App) return;
    const lastNew = msg.index + msg.entries.length;
    const key = `${msg.from}>${msg.to}@${msg.term}`;
    const newest = this.appendHighWater.get(key) ?? 0;
    if (item.seq < newest) this.stats.cornerOldAppendAfterNewer++;
    else this.appendHighWater.set(key, item.seq);
    if (msg.index < disk.hardState.commit || disk.termAt(msg.index) !== msg.logTerm) return;
    const last = disk.wal.lastIndex();
    const conflict = msg.entries.find((e) => e.index <= last && disk.termAt(e.index) !== e.term);
    if (!conflict) return;
    if (last - conflict.index + 1 >= 3) this.stats.cornerLongSuffixTruncated++;
    if (last > lastNew && msg.commit > lastNew) this.stats.cornerPartialAppendOverDivergentSuffix++;
  }

  /** What a real transport notices about a message that did not arrive. */
  private lose(msg: Message, senderIncarnation: number, why: string): void {
    this.stats.dropped++;
    this.trace.record(() => `lost (${why}) ${describeMessage(msg)}`);
    if (msg.type === MessageType.Snap) this.reportSnapshot(msg, senderIncarnation, SnapshotStatus.Failure);
    else if (msg.type === MessageType.App && why !== 'dropped by the network' && this.rng.chance(0.5)) {
      this.deferred.push(() => {
        const sender = this.nodes.get(msg.from);
        if (sender?.incarnation === senderIncarnation)
          this.act(sender, (raft) => raft.reportUnreachable(msg.to));
      });
    }
  }

  private reportSnapshot(msg: Message, senderIncarnation: number, status: SnapshotStatus): void {
    this.deferred.push(() => {
      const sender = this.nodes.get(msg.from);
      if (sender?.incarnation !== senderIncarnation) return;
      this.trace.record(() => `n${msg.from} snapshot to n${msg.to}: ${SnapshotStatus[status]}`);
      this.act(sender, (raft) => raft.reportSnapshot(msg.to, status));
    });
  }

  private loseInFlight(id: NodeId): void {
    for (const item of this.net.removeInvolving(id)) {
      this.lose(item.msg, item.senderIncarnation, `in flight when n${id} went away`);
    }
  }

  /** Transport reports run after the action that caused them, as they would on a real event loop. */
  private runDeferred(): void {
    if (this.runningDeferred) return;
    this.runningDeferred = true;
    try {
      for (let next = this.deferred.shift(); next; next = this.deferred.shift()) next();
    } finally {
      this.runningDeferred = false;
    }
  }
}

function coreFailure(id: NodeId, err: unknown): InvariantViolation {
  if (err instanceof InvariantViolation) return err;
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return new InvariantViolation('The Raft core raises no unexpected errors', `n${id} to carry on`, text);
}
