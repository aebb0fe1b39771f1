// The answer of GET /api/metrics/v1/history (history.controller.ts): a member's own samples, one a second,
// columnar (one array per series, aligned with `t`) so the console hands them to its charts as they are.
// Shared with web/ by `import type`.

/** Every series a member samples, in the order the arrays come. */
export const HISTORY_SERIES = [
  // Requests per second started on the client URL, by type (the request pipeline's count).
  'requestsRange',
  'requestsPut',
  'requestsTxn',
  'requestsWatch',
  'requestsLease',
  'requestsOther',
  // Raft proposals committed and applied per second (etcd_server_proposals_{committed,applied}_total).
  'proposalsCommitted',
  'proposalsApplied',
  // p99 of the WAL fsyncs and backend commits of the second, in ms (null: none that second).
  'walFsyncP99Ms',
  'backendCommitP99Ms',
  // Leader changes this member has seen since it started (etcd_server_leader_changes_seen_total).
  'leaderChanges',
  // Backend size and --quota-backend-bytes, in bytes.
  'dbSizeBytes',
  'dbQuotaBytes',
  'watchers',
  'leases',
  // Registry instances by health status, as this member's store holds them.
  'instancesPassing',
  'instancesWarning',
  'instancesCritical',
  // Config releases created per second (publish, rollback, gray, import), cluster-wide as applied here.
  'configPublishes',
] as const;

export type HistorySeries = (typeof HISTORY_SERIES)[number];

export interface MetricsHistory {
  /** The member answering (hex ID, 16 digits) and its name. */
  memberId: string;
  name: string;
  /** Sampling interval and how many samples the member keeps (15 minutes). */
  intervalMs: number;
  capacity: number;
  /** The member's clock when it answered (ms since the epoch): ask again with since = the last `t`. */
  now: number;
  /** When each sample was taken (ms since the epoch, the member's clock), ascending. */
  t: number[];
  /** One array per series, aligned with `t`; null where the series has no value for that second. */
  series: Record<HistorySeries, Array<number | null>>;
}

/** The console's view of one member's history (GET /api/console/v1/metrics?member=<id>). */
export interface MemberMetricsHistory {
  memberId: string;
  /** Set when the member could not be asked or refused (its HTTP status or the network error). */
  error?: string;
  history?: MetricsHistory;
}
