// The data types of the Raft protocol, modelled on etcd-io/raft's raftpb.
//
// Number rule: terms and log indexes are JS `number`s. They grow by one per election / per entry, so
// they stay far below 2^53 for the life of any cluster; node IDs are `bigint` because they are random
// uint64 values on the wire.

/** A member's ID. `NONE` (0n) means "no node" (no leader, no vote). */
export type NodeId = bigint;
export const NONE: NodeId = 0n;

export enum EntryType {
  /** Application data (may be empty: the no-op a new leader appends). */
  Normal = 0,
  /** `data` is an encoded `ConfChange` (see confchange-codec.ts). */
  ConfChange = 1,
}

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

export interface HardState {
  term: number;
  /** Whom this node voted for in `term` (`NONE` if nobody). */
  vote: NodeId;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

/**
 * A snapshot as Raft sees it. `data` is opaque to Raft; the server keeps it small (membership and a
 * pointer to the state-machine snapshot file) and streams the big state-machine file beside it.
 */
export interface Snapshot {
  metadata: SnapshotMetadata;
  data: Uint8Array;
}

export enum ConfChangeType {
  AddNode = 0,
  RemoveNode = 1,
  /** Add as a non-voting learner. Promotion is an `AddNode` of an existing learner. */
  AddLearnerNode = 2,
}

/** A single-member configuration change (one pending at a time). */
export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  /** Opaque to Raft: the server stores the member's name and URLs here. */
  context: Uint8Array;
}

export enum MessageType {
  /** Local: start an election (campaign). */
  Hup = 0,
  /** Local: leader sends heartbeats. */
  Beat = 1,
  /** Proposal: local on the leader, forwarded by followers. */
  Prop = 2,
  App = 3,
  AppResp = 4,
  Vote = 5,
  VoteResp = 6,
  Snap = 7,
  Heartbeat = 8,
  HeartbeatResp = 9,
  /** Local: the transport reports a peer unreachable. */
  Unreachable = 10,
  /** Local: the transport reports the outcome of sending a snapshot. */
  SnapStatus = 11,
  /** Local: leader checks it still hears a quorum. */
  CheckQuorum = 12,
  TransferLeader = 13,
  TimeoutNow = 14,
  ReadIndex = 15,
  ReadIndexResp = 16,
  PreVote = 17,
  PreVoteResp = 18,
}

export interface Message {
  type: MessageType;
  to: NodeId;
  from: NodeId;
  term: number;
  /** AppendEntries: term of the entry at `index`. Vote: term of the candidate's last entry. */
  logTerm: number;
  /** AppendEntries: index preceding `entries`. Vote: candidate's last index. Resp: match/reject index. */
  index: number;
  entries: Entry[];
  commit: number;
  snapshot?: Snapshot;
  reject: boolean;
  /** On a rejected AppResp: the follower's hint for the leader's fast back-off. */
  rejectHint: number;
  /** ReadIndex request context; heartbeat context carrying a read round. */
  context?: Uint8Array;
}

/** A linearizable read point: once `applied >= index`, reads for `requestCtx` may be served. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

export enum StateType {
  Follower = 'follower',
  Candidate = 'candidate',
  Leader = 'leader',
  PreCandidate = 'pre-candidate',
}

export interface SoftState {
  lead: NodeId;
  raftState: StateType;
}

/**
 * What the driver must do next, in this order:
 * 1. persist `snapshot` (if any), `entries` and `hardState` (fsync when `mustSync`);
 * 2. send `messages` (only after step 1: they may depend on what was persisted);
 * 3. apply `snapshot` (if any), then `committedEntries` to the state machine;
 * 4. call `advance()`.
 */
export interface Ready {
  /** Present when leader or role changed since the last Ready. Not persisted. */
  softState?: SoftState;
  /** Present when term, vote or commit changed since the last Ready. */
  hardState?: HardState;
  readStates: ReadState[];
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  /** True when `entries` or the term/vote changed: the write must be fsynced before sending. */
  mustSync: boolean;
}

export enum ProgressState {
  Probe = 'probe',
  Replicate = 'replicate',
  Snapshot = 'snapshot',
}

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  isLearner: boolean;
  recentActive: boolean;
  inflight: number;
  pendingSnapshot: number;
}

export interface Status {
  id: NodeId;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  leadTransferee: NodeId;
  /** Only on the leader. */
  progress?: Map<NodeId, ProgressStatus>;
}

export enum SnapshotStatus {
  Finish = 0,
  Failure = 1,
}
