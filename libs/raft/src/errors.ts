// The one error type of the Raft layer. Codes follow etcd-io/raft's sentinel errors.

export enum RaftErrorCode {
  /** A proposal was dropped: no leader known, leadership transfer under way, or forwarding disabled. */
  ProposalDropped = 'proposal-dropped',
  /** The requested index is older than the first index in storage (compacted away). */
  Compacted = 'compacted',
  /** The requested snapshot is older than the one storage holds. */
  SnapOutOfDate = 'snap-out-of-date',
  /** The requested entries are not available (beyond the last index). */
  Unavailable = 'unavailable',
  /** Storage is building a snapshot; the leader retries later. */
  SnapshotTemporarilyUnavailable = 'snapshot-temporarily-unavailable',
  /** A local-only message type was passed to step(). */
  StepLocalMsg = 'step-local-msg',
  /** A response came from a node that is not in the configuration. */
  StepPeerNotFound = 'step-peer-not-found',
  /** Configuration is invalid (e.g. heartbeatTick >= electionTick). */
  InvalidConfig = 'invalid-config',
}

const messages: Record<RaftErrorCode, string> = {
  [RaftErrorCode.ProposalDropped]: 'raft proposal dropped',
  [RaftErrorCode.Compacted]: 'requested index is unavailable due to compaction',
  [RaftErrorCode.SnapOutOfDate]: 'requested index is older than the existing snapshot',
  [RaftErrorCode.Unavailable]: 'requested entry at index is unavailable',
  [RaftErrorCode.SnapshotTemporarilyUnavailable]: 'snapshot is temporarily unavailable',
  [RaftErrorCode.StepLocalMsg]: 'raft: cannot step raft local message',
  [RaftErrorCode.StepPeerNotFound]: 'raft: cannot step as peer not found',
  [RaftErrorCode.InvalidConfig]: 'raft: invalid configuration',
};

export class RaftError extends Error {
  constructor(
    readonly code: RaftErrorCode,
    detail?: string,
  ) {
    super(detail ? `${messages[code]}: ${detail}` : messages[code]);
    this.name = 'RaftError';
  }
}

export function isRaftError(err: unknown, code?: RaftErrorCode): err is RaftError {
  return err instanceof RaftError && (code === undefined || err.code === code);
}
