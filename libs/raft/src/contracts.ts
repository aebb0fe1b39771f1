// The interfaces the Raft state machine needs from its environment: storage, randomness, logging.
// Everything here is injected, so a run is a pure function of (config, seed, inputs).
import type { ConfState, Entry, HardState, NodeId, Snapshot } from './types';

/**
 * Read access to the log that has been persisted (etcd-io/raft's Storage). The server backs it with a
 * MemoryStorage in front of the WAL; tests use MemoryStorage alone.
 * Methods throw `RaftError` with code `Compacted` / `Unavailable` / `SnapshotTemporarilyUnavailable`.
 */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at least one entry if any exist, at most `maxSize` bytes of data beyond the first. */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  /** Term of entry `index`; valid for index in [firstIndex()-1, lastIndex()]. */
  term(index: number): number;
  lastIndex(): number;
  firstIndex(): number;
  snapshot(): Snapshot;
}

/** Seeded randomness (see `seededRandom`). `int(n)` returns an integer in [0, n). */
export interface RandomSource {
  int(n: number): number;
}

export interface RaftLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export enum ReadOnlyOption {
  /** Confirm leadership with a heartbeat round to a quorum (batched for all reads waiting). */
  Safe = 'safe',
  /** Trust the leader lease; only allowed with checkQuorum. Faster, relies on bounded clock drift. */
  LeaseBased = 'lease-based',
}

export interface RaftConfig {
  id: NodeId;
  /** Ticks without hearing from a leader before a follower campaigns (randomized in [e, 2e)). */
  electionTick: number;
  /** Ticks between leader heartbeats. Must be < electionTick. */
  heartbeatTick: number;
  storage: Storage;
  random: RandomSource;
  /** Last applied index when restarting; entries at or below it are not returned again. */
  applied?: number;
  /**
   * Max bytes of entries per AppendEntries message (see entrySize; 0 = one entry per message).
   * Default 1 MiB.
   */
  maxSizePerMsg?: number;
  /** Max bytes of committed entries handed out in one Ready (at least one entry). Default 64 MiB. */
  maxCommittedSizePerReady?: number;
  /** Max in-flight AppendEntries messages per follower in Replicate state. Default 256. */
  maxInflightMsgs?: number;
  /** Leader steps down when it has not heard from a quorum within an election timeout. */
  checkQuorum?: boolean;
  /** Run a pre-vote round before incrementing the term (prevents disruption by partitioned nodes). */
  preVote?: boolean;
  readOnlyOption?: ReadOnlyOption;
  /**
   * Leader: when an acknowledgement advances the commit index, do not send every follower an empty
   * AppendEntries just to carry it; the next AppendEntries (new proposals) carries it anyway, and the driver
   * calls broadcastCommit() a moment later if none went out. Followers then learn a commit with the next
   * entry instead of in a message (and an answer) of its own. Default false (etcd-io/raft's behaviour).
   */
  deferCommitBroadcast?: boolean;
  /** When true, followers drop proposals instead of forwarding them to the leader. */
  disableProposalForwarding?: boolean;
  logger?: RaftLogger;
}

export type { ConfState, Entry, HardState, NodeId, Snapshot };
