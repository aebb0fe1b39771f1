// The typed settings a member runs with. apps/server parses flags and environment into this once; nothing in
// the core reads process.env or process.argv.
import type { TokenProvider } from './auth/token-provider';
import { type Logger, silentLogger } from './logger';
import type { PeerDialer } from './peer/peer-dialer';

export interface InitialMember {
  name: string;
  peerUrls: string[];
}

export type AutoCompactionMode = 'periodic' | 'revision';

export interface NodeConfig {
  name: string;
  dataDir: string;
  initialCluster: InitialMember[];
  initialClusterState: 'new' | 'existing';
  initialClusterToken: string;
  advertisePeerUrls: string[];
  advertiseClientUrls: string[];
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  /** Raft log entries applied since the last snapshot before a new snapshot compacts the log. */
  snapshotCount: number;
  /** Entries kept in the Raft log behind a snapshot so slightly slow followers avoid a full snapshot. */
  snapshotCatchUpEntries: number;
  quotaBackendBytes: number;
  maxRequestBytes: number;
  maxTxnOps: number;
  /** How often a watcher created with progress_notify gets a progress response (default 10 min, as etcd). */
  watchProgressNotifyIntervalMs?: number;
  autoCompactionMode: AutoCompactionMode;
  /** '0' disables; periodic: a duration like '1h' or hours as a number; revision: a count. */
  autoCompactionRetention: string;
  logger: Logger;
  /** Pre-vote before elections (default true, as etcd 3.5). */
  preVote?: boolean;
  /** WAL segment size (default 16 MiB; each segment is zero-filled ahead of use). */
  walSegmentBytes?: number;
  /** Longest time an applied write waits before its LevelDB batch is written (default 100 ms, as etcd). */
  backendBatchIntervalMs?: number;
  /** Staged operations that make the LevelDB batch be written at once (default 10,000, as etcd). */
  backendBatchLimit?: number;
  /**
   * Longest time a leader holds a commit advance back, waiting for the next AppendEntries to carry it to
   * the followers, before it sends it on its own (default 2 ms).
   */
  commitBroadcastDelayMs?: number;
  /** How this member dials its peers (TLS for https:// peer URLs); default: plaintext only. */
  peerDialer?: PeerDialer;
  /** Issues and recognises auth tokens (--auth-token); the member assigns them when Authenticate applies. */
  authTokens?: TokenProvider;
  /** --experimental-initial-corrupt-check: compare HashKV with the peers before starting (corruption-check.ts). */
  initialCorruptCheck?: boolean;
  /** Durations for /metrics: WAL fsyncs and backend batch commits, in seconds. */
  observe?: (kind: 'wal_fsync' | 'backend_commit', seconds: number) => void;
}

export const DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 * 1024 * 1024;
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** etcd's progress report interval for watchers created with progress_notify (10 minutes). */
export const DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL_MS = 10 * 60 * 1000;
export const DEFAULT_MAX_TXN_OPS = 128;
/** etcd's defaults for --backend-batch-interval and --backend-batch-limit. */
export const DEFAULT_BACKEND_BATCH_INTERVAL_MS = 100;
export const DEFAULT_BACKEND_BATCH_LIMIT = 10_000;
/** A commit advance waits at most this long for the next AppendEntries before it is sent on its own. */
export const DEFAULT_COMMIT_BROADCAST_DELAY_MS = 2;

/**
 * A lone member on loopback with fast Raft timers and etcd's limits: what tests and embedded uses start.
 * Its peer URL is only named (nothing dials a lone member); `overrides` replace any field.
 */
export function singleMemberConfig(
  dataDir: string,
  overrides: Partial<NodeConfig> & { name?: string; peerUrl?: string } = {},
): NodeConfig {
  const { peerUrl = 'http://127.0.0.1:12380', ...rest } = overrides;
  const name = rest.name ?? 'm1';
  return {
    name,
    dataDir,
    initialCluster: [{ name, peerUrls: [peerUrl] }],
    initialClusterState: 'new',
    initialClusterToken: `${name}-single-member`,
    advertisePeerUrls: [peerUrl],
    advertiseClientUrls: ['http://127.0.0.1:12379'],
    heartbeatIntervalMs: 20,
    electionTimeoutMs: 200,
    snapshotCount: 10_000,
    snapshotCatchUpEntries: 10,
    quotaBackendBytes: DEFAULT_QUOTA_BACKEND_BYTES,
    maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
    maxTxnOps: DEFAULT_MAX_TXN_OPS,
    autoCompactionMode: 'periodic',
    autoCompactionRetention: '0',
    logger: silentLogger,
    ...rest,
  };
}
