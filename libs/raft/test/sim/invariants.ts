// Raft's safety properties, checked incrementally as the driver persists, sends and applies, so a run
// of thousands of steps stays cheap. The record is cluster-wide ("what was ever committed at index i",
// "who led term t") and is never reset by crashes: it is the ground truth a restarted node must agree
// with.
import {
  EntryType,
  MessageType,
  NONE,
  StateType,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ReadState,
  type Snapshot,
  type SoftState,
} from '../../src';
import type { NodeDisk } from './disk';
import { decodeSnapshotState, entryFingerprint, type AppStateMachine } from './state-machine';
import { violated } from './violation';

/** Message types that only ever travel inside one node; one in Ready.messages is a bug. */
const LOCAL_TYPES = new Set<MessageType>([
  MessageType.Hup,
  MessageType.Beat,
  MessageType.Unreachable,
  MessageType.SnapStatus,
  MessageType.CheckQuorum,
]);

/** Requests a follower forwards to its leader keep their original sender (as in etcd-io/raft). */
const FORWARDED_TYPES = new Set<MessageType>([
  MessageType.Prop,
  MessageType.ReadIndex,
  MessageType.TransferLeader,
]);

interface LogRecord {
  fingerprint: string;
  /** Term of the entry before it, or -1 when the log that recorded it had compacted it. */
  prevTerm: number;
  node: NodeId;
}

interface LeaderWatch {
  term: number;
  /** Committed indexes up to here have been found in this leader's log. */
  checkedUpTo: number;
}

interface ReadRecord {
  node: NodeId;
  /** The highest commit index any node knew when the read was issued. */
  commitAtIssue: number;
}

export class SafetyChecker {
  /** Highest index known committed anywhere. */
  maxCommitted = 0;
  readsChecked = 0;
  leadersElected = 0;

  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly logIdentity = new Map<string, LogRecord>();
  private readonly committedFingerprint: string[] = [];
  /** Lowest term of a node that knew index i committed: i was committed in this term or earlier. */
  private readonly commitTerm: number[] = [];
  private readonly appliedFingerprint: string[] = [];
  private readonly digestAt: number[] = [];
  private readonly votes = new Map<string, NodeId>();
  private readonly reads = new Map<string, ReadRecord>();
  private readonly leaders = new Map<NodeId, LeaderWatch>();

  // ---- persisting -------------------------------------------------------------------------------

  /** Log Matching and "committed entries are never overwritten", checked before the WAL write. */
  beforePersistEntries(id: NodeId, disk: NodeDisk, entries: Entry[]): void {
    if (entries.length === 0) return;
    const lastIndex = disk.wal.lastIndex();
    const first = entries[0] as Entry;
    if (first.index > lastIndex + 1) {
      violated(
        'Log continuity',
        `n${id} to append at or before index ${lastIndex + 1}`,
        `index ${first.index}`,
      );
    }
    let prevTerm = disk.termAt(first.index - 1) ?? -1;
    let expectedIndex = first.index;
    for (const entry of entries) {
      if (entry.index !== expectedIndex) {
        violated(
          'Log continuity',
          `n${id} entries with consecutive indexes`,
          `${expectedIndex - 1} then ${entry.index}`,
        );
      }
      expectedIndex++;
      if (entry.index <= lastIndex && entry.index > disk.compactedTo()) {
        const existingTerm = disk.termAt(entry.index);
        if (existingTerm !== entry.term && entry.index <= disk.hardState.commit) {
          violated(
            'Committed entries are never overwritten',
            `n${id} to keep its entry at ${entry.index} (term ${existingTerm}, its commit is ${disk.hardState.commit})`,
            `it truncated the log and wrote term ${entry.term} there`,
          );
        }
      }
      this.recordLogEntry(id, entry, prevTerm);
      prevTerm = entry.term;
    }
  }

  /** Terms and commits only grow, one vote per term, and the commit index covers persisted entries. */
  beforePersistHardState(id: NodeId, disk: NodeDisk, next: HardState): void {
    const prev = disk.hardState;
    if (next.term < prev.term) {
      violated('Term never decreases', `n${id} term >= ${prev.term}`, `${next.term}`);
    }
    if (next.term === prev.term && prev.vote !== NONE && next.vote !== prev.vote) {
      violated(
        'One vote per term',
        `n${id} to keep its vote for n${prev.vote} in term ${prev.term}`,
        `vote n${next.vote}`,
      );
    }
    if (next.commit < prev.commit) {
      violated('Commit index never decreases', `n${id} commit >= ${prev.commit}`, `${next.commit}`);
    }
  }

  /** After the hard state is written: record what became committed, and compare with the record. */
  afterPersistHardState(id: NodeId, disk: NodeDisk): void {
    const { commit, term } = disk.hardState;
    if (commit > disk.wal.lastIndex()) {
      violated(
        'Commit index within the persisted log',
        `n${id} commit <= ${disk.wal.lastIndex()}`,
        `${commit}`,
      );
    }
    for (let index = Math.max(disk.commitCheckedUpTo, disk.compactedTo()) + 1; index <= commit; index++) {
      const entry = disk.entryAt(index);
      if (!entry) violated('Committed entry persisted', `n${id} to hold committed entry ${index}`, 'nothing');
      this.recordCommitted(id, index, entryFingerprint(entry), term);
    }
    disk.commitCheckedUpTo = Math.max(disk.commitCheckedUpTo, commit);
  }

  /**
   * Raft §5.4.2: a leader moves its commit index only by counting replicas of an entry of its own term.
   * So when a leader of term T persists commit index c, entry c has term T and a quorum of its voters
   * has it on disk (the driver persists a Ready's entries before its hard state, the leader's own
   * included; a quorum that stored (c, T) can never lose it).
   */
  checkLeaderCommit(
    id: NodeId,
    term: number,
    commit: number,
    voters: NodeId[],
    diskOf: (id: NodeId) => NodeDisk | undefined,
  ): void {
    const own = diskOf(id)?.termAt(commit);
    if (own !== term) {
      violated(
        'Leaders commit only entries of their own term by counting (§5.4.2)',
        `leader n${id} commit ${commit} on an entry of term ${term}`,
        `term ${own}`,
      );
    }
    const holders = voters.filter((voter) => {
      const disk = diskOf(voter);
      if (!disk) return false;
      return disk.termAt(commit) === term || (commit <= disk.compactedTo() && disk.snapshotIndex() >= commit);
    });
    if (holders.length < Math.floor(voters.length / 2) + 1) {
      violated(
        'Commit needs a quorum',
        `entry (${commit}, t${term}) persisted on a quorum of [${voters.join(',')}] when leader n${id} commits it`,
        `only on [${holders.join(',')}]`,
      );
    }
  }

  /**
   * Single-server membership changes (Raft thesis §4.1) are safe only one at a time: a leader that has
   * just persisted a conf change entry must have no other one uncommitted in its log.
   */
  checkOneConfChangeAtATime(id: NodeId, disk: NodeDisk): void {
    const pending: number[] = [];
    for (let index = disk.hardState.commit + 1; index <= disk.wal.lastIndex(); index++) {
      if (disk.entryAt(index)?.type === EntryType.ConfChange) pending.push(index);
    }
    if (pending.length > 1) {
      violated(
        'One membership change at a time',
        `leader n${id} with at most one uncommitted conf change`,
        `conf changes at ${pending.join(', ')}`,
      );
    }
  }

  /** A node's first log is written by bootstrap, not by a Ready: adopt it into the record. */
  adoptBootstrap(id: NodeId, disk: NodeDisk): void {
    let prevTerm = 0;
    for (let index = disk.wal.firstIndex(); index <= disk.wal.lastIndex(); index++) {
      const entry = disk.entryAt(index) as Entry;
      this.recordLogEntry(id, entry, prevTerm);
      prevTerm = entry.term;
    }
    this.afterPersistHardState(id, disk);
  }

  /** A snapshot a follower is about to persist must be one the cluster committed and applied. */
  beforePersistSnapshot(id: NodeId, disk: NodeDisk, snapshot: Snapshot): void {
    const { index, term } = snapshot.metadata;
    if (index <= disk.stateMachine.applied) {
      violated(
        'Applied index never goes backwards',
        `n${id} snapshot above applied ${disk.stateMachine.applied}`,
        `snapshot at ${index}`,
      );
    }
    this.checkSnapshotContent(id, snapshot);
    const committed = this.committedFingerprint[index];
    if (committed !== undefined && !committed.startsWith(`${term}.`)) {
      violated(
        'Snapshot matches the committed log',
        `n${id} snapshot term at ${index} from ${committed}`,
        `term ${term}`,
      );
    }
  }

  // ---- sending ----------------------------------------------------------------------------------

  beforeSend(id: NodeId, disk: NodeDisk, msg: Message): void {
    if (LOCAL_TYPES.has(msg.type)) {
      violated(
        'Only network messages leave a node',
        `n${id} to keep local ${MessageType[msg.type]}`,
        'it in Ready.messages',
      );
    }
    if (msg.from !== id && !FORWARDED_TYPES.has(msg.type)) {
      violated('Messages carry their sender', `${MessageType[msg.type]} from n${id}`, `from n${msg.from}`);
    }
    if (msg.type === MessageType.VoteResp && !msg.reject) {
      const hs = disk.hardState;
      if (hs.term !== msg.term || hs.vote !== msg.to) {
        violated(
          'Vote persisted before it is sent',
          `n${id} to have persisted term ${msg.term} vote n${msg.to}`,
          `persisted term ${hs.term} vote n${hs.vote}`,
        );
      }
      const key = `${id}@${msg.term}`;
      const earlier = this.votes.get(key);
      if (earlier !== undefined && earlier !== msg.to) {
        violated(
          'One vote per term',
          `n${id} to grant only n${earlier} in term ${msg.term}`,
          `a grant to n${msg.to}`,
        );
      }
      this.votes.set(key, msg.to);
    }
    if (msg.type === MessageType.AppResp && !msg.reject && msg.index > 0) {
      // An acknowledgement counts towards commit: what it acknowledges must already be on disk.
      const durable = Math.max(disk.wal.lastIndex(), disk.snapshotIndex());
      if (msg.index > durable) {
        violated(
          'Entries are persisted before they are acknowledged',
          `n${id} to have persisted up to ${msg.index} before acking it`,
          `persisted up to ${durable}`,
        );
      }
    }
  }

  // ---- applying ---------------------------------------------------------------------------------

  /** State Machine Safety and in-order, committed-only application. Returns the entry's fingerprint. */
  beforeApply(id: NodeId, disk: NodeDisk, entry: Entry): string {
    const sm = disk.stateMachine;
    if (entry.index !== sm.applied + 1) {
      violated(
        'Entries are applied in order, once',
        `n${id} to apply index ${sm.applied + 1}`,
        `index ${entry.index}`,
      );
    }
    if (entry.index > disk.hardState.commit) {
      violated(
        'Only committed entries are applied',
        `n${id} to apply up to its commit ${disk.hardState.commit}`,
        `index ${entry.index}`,
      );
    }
    const fingerprint = entryFingerprint(entry);
    const committed = this.committedFingerprint[entry.index];
    if (committed === undefined) {
      violated(
        'Only committed entries are applied',
        `index ${entry.index} recorded as committed`,
        'no record',
      );
    }
    if (committed !== fingerprint) {
      violated(
        'Committed entries never change',
        `n${id} applies ${committed} at ${entry.index}`,
        fingerprint,
      );
    }
    const applied = this.appliedFingerprint[entry.index];
    if (applied !== undefined && applied !== fingerprint) {
      violated(
        'State Machine Safety',
        `n${id} applies ${applied} at ${entry.index} like the others`,
        fingerprint,
      );
    }
    this.appliedFingerprint[entry.index] = fingerprint;
    return fingerprint;
  }

  afterApply(id: NodeId, sm: AppStateMachine): void {
    this.checkDigest(id, sm.applied, sm.digest);
  }

  /** The state machine is replaced by a snapshot: it must only move forward and carry the right state. */
  beforeRestore(id: NodeId, sm: AppStateMachine, snapshot: Snapshot): void {
    if (snapshot.metadata.index <= sm.applied) {
      violated(
        'Applied index never goes backwards',
        `n${id} restore above applied ${sm.applied}`,
        `snapshot at ${snapshot.metadata.index}`,
      );
    }
    this.checkSnapshotContent(id, snapshot);
  }

  // ---- roles ------------------------------------------------------------------------------------

  /** Election Safety: at most one leader per term. */
  observeRole(id: NodeId, soft: SoftState, term: number): void {
    if (soft.raftState !== StateType.Leader) {
      this.leaders.delete(id);
      return;
    }
    const holder = this.leaderOfTerm.get(term);
    if (holder !== undefined && holder !== id) {
      violated('Election Safety', `one leader in term ${term} (n${holder})`, `n${id} also leader`);
    }
    if (holder === undefined) {
      this.leaderOfTerm.set(term, id);
      this.leadersElected++;
    }
    const watch = this.leaders.get(id);
    if (!watch || watch.term !== term) this.leaders.set(id, { term, checkedUpTo: 0 });
  }

  nodeDown(id: NodeId): void {
    this.leaders.delete(id);
  }

  /** Leader Completeness: an entry committed in term t is in the log of every leader of a term >= t. */
  checkLeaderCompleteness(diskOf: (id: NodeId) => NodeDisk): void {
    for (const [id, watch] of this.leaders) {
      if (watch.checkedUpTo >= this.maxCommitted) continue;
      const disk = diskOf(id);
      const compactedTo = disk.compactedTo();
      for (let index = watch.checkedUpTo + 1; index <= this.maxCommitted; index++) {
        if ((this.commitTerm[index] ?? Infinity) > watch.term || index <= compactedTo) continue;
        const entry = disk.entryAt(index);
        const want = this.committedFingerprint[index] as string;
        const seen = entry ? entryFingerprint(entry) : 'no entry';
        if (seen !== want) {
          violated(
            'Leader Completeness',
            `leader n${id} of term ${watch.term} to hold ${want} at ${index} (committed by term ${this.commitTerm[index]})`,
            seen,
          );
        }
      }
      watch.checkedUpTo = this.maxCommitted;
    }
  }

  // ---- reads ------------------------------------------------------------------------------------

  readIssued(id: NodeId, context: Uint8Array): void {
    this.reads.set(contextKey(context), { node: id, commitAtIssue: this.maxCommitted });
  }

  /** A read point must not be older than anything committed before the read was issued. */
  readAnswered(id: NodeId, state: ReadState): void {
    const record = this.reads.get(contextKey(state.requestCtx));
    if (!record) return; // a response that outlived the process that asked (it restarted): the server drops it
    if (state.index < record.commitAtIssue) {
      violated(
        'Linearizable ReadIndex',
        `read ${contextKey(state.requestCtx)} (issued at n${record.node}, answered at n${id}) to see index >= ${record.commitAtIssue}, committed when it was issued`,
        `read index ${state.index}`,
      );
    }
    this.readsChecked++;
  }

  // ---- end of run -------------------------------------------------------------------------------

  committedAt(index: number): string | undefined {
    return this.committedFingerprint[index];
  }

  digestOf(index: number): number | undefined {
    return this.digestAt[index];
  }

  private recordLogEntry(id: NodeId, entry: Entry, prevTerm: number): void {
    const key = `${entry.index}/${entry.term}`;
    const fingerprint = entryFingerprint(entry);
    const known = this.logIdentity.get(key);
    if (!known) {
      this.logIdentity.set(key, { fingerprint, prevTerm, node: id });
      return;
    }
    if (known.fingerprint !== fingerprint) {
      violated(
        'Log Matching',
        `n${id} entry (${entry.index}, t${entry.term}) = ${known.fingerprint} as on n${known.node}`,
        fingerprint,
      );
    }
    if (known.prevTerm >= 0 && prevTerm >= 0 && known.prevTerm !== prevTerm) {
      violated(
        'Log Matching',
        `n${id} entry before (${entry.index}, t${entry.term}) to have term ${known.prevTerm} as on n${known.node}`,
        `term ${prevTerm}`,
      );
    }
    if (known.prevTerm < 0) known.prevTerm = prevTerm;
  }

  private recordCommitted(id: NodeId, index: number, fingerprint: string, term: number): void {
    const known = this.committedFingerprint[index];
    if (known === undefined) {
      this.committedFingerprint[index] = fingerprint;
      this.commitTerm[index] = term;
      if (index > this.maxCommitted) this.maxCommitted = index;
      return;
    }
    if (known !== fingerprint) {
      violated('Committed entries never change', `n${id} committed ${known} at ${index}`, fingerprint);
    }
    if (term < (this.commitTerm[index] as number)) this.commitTerm[index] = term;
  }

  private checkSnapshotContent(id: NodeId, snapshot: Snapshot): void {
    const state = decodeSnapshotState(snapshot.data);
    if (state.index !== snapshot.metadata.index) {
      violated(
        'Snapshot data matches its metadata',
        `n${id} snapshot of index ${snapshot.metadata.index}`,
        `data of ${state.index}`,
      );
    }
    const known = this.digestAt[state.index];
    if (known === undefined) {
      violated('Snapshots hold applied state', `index ${state.index} applied somewhere`, 'nobody applied it');
    }
    this.checkDigest(id, state.index, state.digest);
  }

  private checkDigest(id: NodeId, index: number, digest: number): void {
    const known = this.digestAt[index];
    if (known === undefined) this.digestAt[index] = digest;
    else if (known !== digest) {
      violated('State Machine Safety', `n${id} state at ${index} with digest ${known}`, `digest ${digest}`);
    }
  }
}

function contextKey(context: Uint8Array): string {
  return Buffer.from(context).toString('latin1');
}
