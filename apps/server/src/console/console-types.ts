// Response shapes of the console-only REST API (/api/console/v1). Plain JSON types with no imports, so the web
// console (web/) imports them with `import type` and both sides compile against the same definitions.
// 64-bit values (member IDs, lease IDs) are decimal strings; revisions and indexes are numbers (safe below 2^53).

export type MemberRole = 'leader' | 'follower' | 'learner' | 'unknown';

export interface ConsoleMember {
  /** Member ID as 16 hex digits, as etcdctl prints it. */
  id: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
  role: MemberRole;
  /** Whether this member answered its status request (false: down or unreachable from the member asked). */
  reachable: boolean;
  /** Its /health verdict: true, false, or null when it could not be asked. */
  healthy: boolean | null;
  /** Why it is not healthy (e.g. "RAFT NO LEADER", "unreachable: ..."). */
  reason?: string;
  raftTerm?: number;
  commitIndex?: number;
  appliedIndex?: number;
  dbSize?: number;
  dbSizeInUse?: number;
  dbSizeQuota?: number;
  version?: string;
  /** Alarms this member reports (etcd's `errors` of Status). */
  errors: string[];
  /** The member that answered this overview. */
  self: boolean;
}

export interface ConsoleAlarm {
  memberId: string;
  alarm: 'NOSPACE' | 'CORRUPT' | 'NONE';
}

export interface ClusterOverview {
  clusterId: string;
  /** The member answering, hex. */
  memberId: string;
  /** Leader's member ID in hex, or null without a leader. */
  leader: string | null;
  raftTerm: number;
  revision: number;
  compactRevision: number;
  members: ConsoleMember[];
  alarms: ConsoleAlarm[];
  /** Server time (ms since epoch) the overview was taken. */
  at: number;
}

export interface KeyTreeNode {
  /** The child's path segment after the prefix (ends with "/" for a directory node). */
  name: string;
  /** Full key (leaf) or prefix (directory) of this node. */
  path: string;
  /** A directory: the prefix of more keys. A key can also exist with the same name without the slash. */
  dir: boolean;
  /** Keys under the directory (1 for a leaf). */
  count: number;
}

export interface KeyTreePage {
  prefix: string;
  /** The revision the page was read at. */
  revision: number;
  children: KeyTreeNode[];
  /** Pass as `after` to get the next page; null when this is the last one. */
  next: string | null;
}

export type ValueEncoding = 'json' | 'yaml' | 'text' | 'binary';

export interface ConsoleKeyValue {
  key: string;
  /** Base64 of the raw value. */
  valueBase64: string;
  /** UTF-8 text of the value, or null when it is not valid UTF-8 (show hex instead). */
  text: string | null;
  /** What the value looks like (for pretty-printing). */
  encoding: ValueEncoding;
  size: number;
  createRevision: number;
  modRevision: number;
  version: number;
  /** Lease ID (decimal string), "0" for none. */
  lease: string;
  /** Seconds left on the lease, when attached and known. */
  leaseTtl?: number;
  leaseGrantedTtl?: number;
}

export interface KeyValueResponse {
  /** The revision read at. */
  revision: number;
  compactRevision: number;
  /** Null when the key does not exist at that revision. */
  kv: ConsoleKeyValue | null;
  /** Where the value was read: MVCC, or the audit archive for a revision already compacted. */
  source: 'mvcc' | 'audit';
}

export interface KeyHistoryEntry {
  revision: number;
  type: 'put' | 'delete';
  /** Absent for deletes. */
  kv?: ConsoleKeyValue;
  /** Where this entry came from. */
  source: 'mvcc' | 'audit';
}

export interface KeyHistoryResponse {
  key: string;
  revision: number;
  compactRevision: number;
  /** Oldest first. */
  entries: KeyHistoryEntry[];
  /**
   * True when older revisions may be missing: compacted in MVCC and not in the audit archive, or more than
   * the 1000 newest revisions (only those are returned).
   */
  truncated: boolean;
}

export interface PutKeyRequest {
  key: string;
  /** UTF-8 text of the value (use valueBase64 for binary). */
  value?: string;
  valueBase64?: string;
  /** Lease ID (decimal string); omitted or "0" for none. */
  lease?: string;
}

export interface WriteResult {
  revision: number;
  /** Keys deleted (delete only). */
  deleted?: number;
}

/** One event of the SSE watch feed (`event: change`); the SSE id is the revision. */
export interface WatchFeedEvent {
  revision: number;
  type: 'put' | 'delete';
  key: string;
  value: string | null;
  valueBase64: string;
  version: number;
  lease: string;
  prevValue: string | null;
}

/** `event: status` of the SSE watch feed: sent when the stream starts and on compaction. */
export interface WatchFeedStatus {
  prefix: string;
  revision: number;
  compactRevision: number;
  /** The requested start revision was compacted; the feed starts from now. */
  compacted?: boolean;
}
