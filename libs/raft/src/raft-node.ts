// The public face of the Raft core (etcd-io/raft RawNode): wraps the state machine, batches its output
// into Ready values and takes the driver's acknowledgement through advance().
import { encodeConfChange } from './confchange-codec';
import type { RaftConfig } from './contracts';
import { RaftError, RaftErrorCode, isRaftError } from './errors';
import { MemoryStorage } from './memory-storage';
import { isLocalMessage, makeMessage } from './message';
import { Raft } from './raft';
import {
  ConfChangeType,
  EntryType,
  MessageType,
  NONE,
  SnapshotStatus,
  StateType,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ProgressStatus,
  type Ready,
  type SoftState,
  type Status,
} from './types';

/** What the outstanding Ready contained, so advance() can acknowledge exactly that. */
interface ReadyMark {
  lastEntry?: { index: number; term: number };
  lastCommittedIndex?: number;
  snapshotIndex?: number;
}

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function softStateEqual(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.raftState === b.raftState;
}

export class RaftNode {
  readonly id: NodeId;
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** Set between ready() and advance(). */
  private outstanding: ReadyMark | undefined;

  /** Restores term, vote, commit and membership from config.storage.initialState(). */
  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.id = config.id;
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  /**
   * Prepares the storage of a brand-new cluster: ConfChange(AddNode) entries for `peers` at term 1,
   * indexes 1..n, committed, and the resulting membership. Nodes that join later learn the initial
   * membership from these entries. The first Ready hands them back as committed entries; applying them
   * (applyConfChange) is idempotent.
   */
  static bootstrap(storage: MemoryStorage, peers: { id: NodeId; context?: Uint8Array }[]): void {
    if (peers.length === 0)
      throw new RaftError(RaftErrorCode.InvalidConfig, 'must provide at least one peer');
    if (storage.lastIndex() !== 0 || storage.firstIndex() !== 1) {
      throw new RaftError(RaftErrorCode.InvalidConfig, 'cannot bootstrap a non-empty storage');
    }
    const seen = new Set<NodeId>();
    const entries: Entry[] = peers.map((peer, i) => {
      if (peer.id === NONE) throw new RaftError(RaftErrorCode.InvalidConfig, 'peer id must not be none');
      if (seen.has(peer.id)) throw new RaftError(RaftErrorCode.InvalidConfig, `duplicate peer ${peer.id}`);
      seen.add(peer.id);
      const cc: ConfChange = {
        type: ConfChangeType.AddNode,
        nodeId: peer.id,
        context: peer.context ?? new Uint8Array(0),
      };
      return { term: 1, index: i + 1, type: EntryType.ConfChange, data: encodeConfChange(cc) };
    });
    storage.append(entries);
    storage.setHardState({ term: 1, vote: NONE, commit: entries.length });
    storage.setConfState({ voters: peers.map((p) => p.id), learners: [] });
  }

  /** Advances the logical clock by one tick (elections, heartbeats, check-quorum). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (pre-vote first if enabled). */
  campaign(): void {
    this.raft.step(makeMessage({ type: MessageType.Hup, from: this.id }));
  }

  /** Proposes application data. Throws RaftError(ProposalDropped) when it cannot be accepted now. */
  propose(data: Uint8Array): void {
    this.raft.step(
      makeMessage({
        type: MessageType.Prop,
        from: this.id,
        entries: [{ term: 0, index: 0, type: EntryType.Normal, data }],
      }),
    );
  }

  /**
   * Proposes several application entries at once (all or none): one AppendEntries per follower instead
   * of one per entry. Throws like propose().
   */
  proposeBatch(data: Uint8Array[]): void {
    if (data.length === 0) return;
    this.raft.step(
      makeMessage({
        type: MessageType.Prop,
        from: this.id,
        entries: data.map((d) => ({ term: 0, index: 0, type: EntryType.Normal, data: d })),
      }),
    );
  }

  /**
   * Proposes a membership change. Throws RaftError(ProposalDropped) when there is no leader, a transfer
   * is under way, another change is pending, or the change would leave no voter.
   */
  proposeConfChange(cc: ConfChange): void {
    this.raft.step(
      makeMessage({
        type: MessageType.Prop,
        from: this.id,
        entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }],
      }),
    );
  }

  /** Applies a committed conf change; the driver calls it when it applies the entry. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /**
   * Feeds a message received from a peer. Local-only types throw RaftError(StepLocalMsg). Messages that
   * cannot be acted on (a forwarded proposal with no leader to forward to, a response from a removed
   * peer) are dropped silently: the sender retries or times out.
   */
  step(msg: Message): void {
    if (isLocalMessage(msg.type)) throw new RaftError(RaftErrorCode.StepLocalMsg, MessageType[msg.type]);
    try {
      this.raft.step(msg);
    } catch (err) {
      if (isRaftError(err, RaftErrorCode.ProposalDropped) && msg.from !== this.id) return;
      throw err;
    }
  }

  /**
   * Requests a linearizable read point for `context` (which should be unique). The ReadState comes back
   * in a later Ready. Throws RaftError(ProposalDropped) when no leader is known.
   */
  readIndex(context: Uint8Array): void {
    if (this.raft.lead === NONE)
      throw new RaftError(RaftErrorCode.ProposalDropped, 'no leader for read index');
    this.raft.step(makeMessage({ type: MessageType.ReadIndex, from: this.id, context }));
  }

  /** Asks the leader (this node or, forwarded, the current leader) to hand leadership to `transferee`. */
  transferLeader(transferee: NodeId): void {
    this.raft.step(makeMessage({ type: MessageType.TransferLeader, from: transferee, to: this.id }));
  }

  /** The transport could not reach `id`: replication to it falls back to probing. */
  reportUnreachable(id: NodeId): void {
    this.raft.step(makeMessage({ type: MessageType.Unreachable, from: id }));
  }

  /** A failure detector suspects that `id`, our leader, is gone (see Raft.suspectLeader). */
  suspectLeader(id: NodeId): void {
    this.raft.suspectLeader(id);
  }

  /** Leader with deferCommitBroadcast: a commit advance has not reached the followers yet. */
  hasPendingCommitBroadcast(): boolean {
    return this.raft.hasPendingCommitBroadcast();
  }

  /**
   * Leader with deferCommitBroadcast: the pending commit advance (a new number for each advance that became
   * pending after the previous one was carried), or undefined when none is pending.
   */
  pendingCommitBroadcast(): number | undefined {
    return this.raft.pendingCommitBroadcast();
  }

  /** Leader with deferCommitBroadcast: send the followers the commit index now (if still pending). */
  broadcastCommit(): void {
    this.raft.broadcastCommit();
  }

  /** The outcome of sending a snapshot to `id`; either way replication resumes by probing. */
  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    this.raft.step(
      makeMessage({ type: MessageType.SnapStatus, from: id, reject: status === SnapshotStatus.Failure }),
    );
  }

  /** Whether ready() has anything to hand out. False while a Ready is outstanding (until advance()). */
  hasReady(): boolean {
    if (this.outstanding) return false;
    const r = this.raft;
    if (!softStateEqual(r.softState(), this.prevSoftState)) return true;
    if (!hardStateEqual(r.hardState(), this.prevHardState)) return true;
    if (r.raftLog.hasPendingSnapshot()) return true;
    if (r.msgs.length > 0 || r.raftLog.unstableEntries().length > 0 || r.raftLog.hasNextEnts()) return true;
    return r.readStates.length > 0;
  }

  /**
   * Everything the driver must do next (see Ready for the order). Call advance() when done, before the
   * next ready(); calling ready() twice without advance() throws.
   */
  ready(): Ready {
    if (this.outstanding)
      throw new Error('ready() called again before advance() acknowledged the previous Ready');
    const r = this.raft;
    const entries = r.raftLog.unstableEntries().slice();
    const committedEntries = r.raftLog.nextEnts();
    const snapshot = r.raftLog.unstable.snapshot;
    const rd: Ready = {
      readStates: r.readStates,
      entries,
      committedEntries,
      messages: r.msgs,
      mustSync: false,
    };
    const soft = r.softState();
    if (!softStateEqual(soft, this.prevSoftState)) {
      rd.softState = soft;
      this.prevSoftState = soft;
    }
    const hard = r.hardState();
    if (!hardStateEqual(hard, this.prevHardState)) {
      rd.hardState = hard;
    }
    rd.mustSync =
      entries.length > 0 ||
      snapshot !== undefined ||
      hard.term !== this.prevHardState.term ||
      hard.vote !== this.prevHardState.vote;
    this.prevHardState = hard;
    if (snapshot) rd.snapshot = snapshot;
    r.msgs = [];
    r.readStates = [];

    const mark: ReadyMark = {};
    if (entries.length > 0) {
      const last = entries[entries.length - 1];
      mark.lastEntry = { index: last.index, term: last.term };
    }
    if (committedEntries.length > 0)
      mark.lastCommittedIndex = committedEntries[committedEntries.length - 1].index;
    if (snapshot) mark.snapshotIndex = snapshot.metadata.index;
    this.outstanding = mark;
    return rd;
  }

  /**
   * Acknowledges the last Ready: its entries, hard state and snapshot are persisted and its snapshot and
   * committed entries applied.
   */
  advance(): void {
    const mark = this.outstanding;
    if (!mark) throw new Error('advance() called without an outstanding Ready');
    this.outstanding = undefined;
    const log = this.raft.raftLog;
    if (mark.snapshotIndex !== undefined) {
      log.stableSnapTo(mark.snapshotIndex);
      if (mark.snapshotIndex > log.applied) log.appliedTo(mark.snapshotIndex);
    }
    if (mark.lastCommittedIndex !== undefined && mark.lastCommittedIndex > log.applied) {
      log.appliedTo(mark.lastCommittedIndex);
    }
    if (mark.lastEntry) log.stableTo(mark.lastEntry.index, mark.lastEntry.term);
  }

  status(): Status {
    const r = this.raft;
    const status: Status = {
      id: this.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.raftLog.applied,
      leadTransferee: r.leadTransferee,
    };
    if (r.state === StateType.Leader) {
      const progress = new Map<NodeId, ProgressStatus>();
      r.prs.visit((id, pr) => progress.set(id, pr.toStatus()));
      status.progress = progress;
    }
    return status;
  }

  softState(): SoftState {
    return this.raft.softState();
  }
}
