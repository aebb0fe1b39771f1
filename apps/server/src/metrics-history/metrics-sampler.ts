// Each member samples its own metrics once a second and keeps the last 15 minutes in a fixed ring of typed
// arrays (bounded memory: 900 samples x 19 series x 8 bytes, about 140 KB). Sampling reads the counters the
// member already keeps (node stats, the watchable's and lease store's sizes) and two counts fed as things
// happen: requests from the request pipeline and WAL fsync / backend commit durations — no Prometheus
// scrape on the way.
import type { CairnNode } from '@cairn/server';
import type { PipelineMetricsSink } from '@cairn/edge';
import { HISTORY_SERIES, type HistorySeries, type MetricsHistory } from './history-types';

export const SAMPLE_INTERVAL_MS = 1000;
/** 15 minutes of one-second samples. */
export const HISTORY_CAPACITY = 900;

type RequestType = 'Range' | 'Put' | 'Txn' | 'Watch' | 'Lease' | 'Other';

/** What the sampler reads besides the node: the registry's and config center's counts (feature-counts.ts). */
export interface FeatureCounts {
  instances(): { passing: number; warning: number; critical: number };
  /** Config releases created since the member started. */
  configPublishes(): number;
}

/**
 * gRPC methods by type (started calls: a watch counts when its stream opens). HTTP requests count once
 * routed; the JSON gateway's single catch-all route makes its calls 'Other'.
 */
export function requestType(surface: 'grpc' | 'http', method: string): RequestType {
  if (surface !== 'grpc') return 'Other';
  switch (method) {
    case 'etcdserverpb.KV/Range':
      return 'Range';
    case 'etcdserverpb.KV/Put':
      return 'Put';
    case 'etcdserverpb.KV/Txn':
      return 'Txn';
    case 'etcdserverpb.Watch/Watch':
      return 'Watch';
    default:
      return method.startsWith('etcdserverpb.Lease/') ? 'Lease' : 'Other';
  }
}

// etcd's buckets for both disk histograms: 1 ms .. ~8 s doubling (metrics.ts uses the same).
const BUCKETS = Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i);

/** Observations of one second in etcd's buckets; p99 as Prometheus' histogram_quantile interpolates it. */
class SecondHistogram {
  private readonly counts = new Uint32Array(BUCKETS.length + 1);
  private total = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.total++;
  }

  /** The 0.99 quantile in ms of what was observed since the last call (NaN if nothing), then starts over. */
  takeP99Ms(): number {
    if (this.total === 0) return NaN;
    const rank = 0.99 * this.total;
    let seen = 0;
    let result = BUCKETS[BUCKETS.length - 1]!;
    for (let i = 0; i < this.counts.length; i++) {
      const count = this.counts[i]!;
      if (seen + count >= rank && count > 0) {
        // The +Inf bucket has no upper bound: report the highest finite one, as histogram_quantile does.
        if (i < BUCKETS.length) {
          const lower = i === 0 ? 0 : BUCKETS[i - 1]!;
          result = lower + (BUCKETS[i]! - lower) * ((rank - seen) / count);
        }
        break;
      }
      seen += count;
    }
    this.counts.fill(0);
    this.total = 0;
    return result * 1000;
  }
}

export class MetricsSampler {
  private readonly times = new Float64Array(HISTORY_CAPACITY);
  private readonly columns = new Map<HistorySeries, Float64Array>(
    HISTORY_SERIES.map((name) => [name, new Float64Array(HISTORY_CAPACITY)]),
  );
  /** Next slot to write; `size` samples are held, the oldest at (next - size). */
  private next = 0;
  private size = 0;
  private readonly requests: Record<RequestType, number> = {
    Range: 0,
    Put: 0,
    Txn: 0,
    Watch: 0,
    Lease: 0,
    Other: 0,
  };
  private readonly walFsync = new SecondHistogram();
  private readonly backendCommit = new SecondHistogram();
  private timer?: NodeJS.Timeout;
  private node?: CairnNode;
  private features?: FeatureCounts;
  private last?: { committed: number; applied: number; publishes: number };

  /** Fed by the request pipeline (request-pipeline.ts): counting only, nothing is kept per request. */
  readonly pipelineSink: PipelineMetricsSink = {
    started: (request) => {
      if (request.surface === 'grpc') this.requests[requestType('grpc', request.method)]++;
    },
    handled: (request) => {
      if (request.surface === 'http') this.requests.Other++;
    },
  };

  /** Fed where the WAL syncs and the backend commits (the node's `observe`, as for the histograms). */
  observe(kind: 'wal_fsync' | 'backend_commit', seconds: number): void {
    (kind === 'wal_fsync' ? this.walFsync : this.backendCommit).observe(seconds);
  }

  /** Starts sampling once the node and the features exist. */
  start(node: CairnNode, features: FeatureCounts): void {
    this.node = node;
    this.features = features;
    // Rates count from now: the first sample holds what happened since start, as the request counts do.
    this.last = {
      committed: node.stats.proposalsCommitted,
      applied: node.stats.proposalsApplied,
      publishes: features.configPublishes(),
    };
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes one sample now (the timer's tick; tests call it directly). */
  sample(now = Date.now()): void {
    const node = this.node;
    if (!node) return;
    const stats = node.stats;
    const publishes = this.features?.configPublishes() ?? 0;
    const last = this.last ?? { committed: 0, applied: 0, publishes: 0 };
    const watchers = node.watchable.stats;
    const instances = this.features?.instances() ?? { passing: NaN, warning: NaN, critical: NaN };
    const values: Record<HistorySeries, number> = {
      requestsRange: this.requests.Range,
      requestsPut: this.requests.Put,
      requestsTxn: this.requests.Txn,
      requestsWatch: this.requests.Watch,
      requestsLease: this.requests.Lease,
      requestsOther: this.requests.Other,
      proposalsCommitted: Math.max(0, stats.proposalsCommitted - last.committed),
      proposalsApplied: Math.max(0, stats.proposalsApplied - last.applied),
      walFsyncP99Ms: this.walFsync.takeP99Ms(),
      backendCommitP99Ms: this.backendCommit.takeP99Ms(),
      leaderChanges: stats.leaderChanges,
      dbSizeBytes: node.dbSizeBytes,
      dbQuotaBytes: node.config.quotaBackendBytes,
      watchers: watchers.synced + watchers.unsynced + watchers.victims,
      leases: node.leases.leases().length,
      instancesPassing: instances.passing,
      instancesWarning: instances.warning,
      instancesCritical: instances.critical,
      configPublishes: Math.max(0, publishes - last.publishes),
    };
    for (const key of Object.keys(this.requests) as RequestType[]) this.requests[key] = 0;
    this.last = { committed: stats.proposalsCommitted, applied: stats.proposalsApplied, publishes };
    this.times[this.next] = now;
    for (const [name, column] of this.columns) column[this.next] = values[name];
    this.next = (this.next + 1) % HISTORY_CAPACITY;
    this.size = Math.min(HISTORY_CAPACITY, this.size + 1);
  }

  /** The samples taken after `since` (ms, this member's clock), oldest first. */
  history(member: { memberId: string; name: string }, since = 0): MetricsHistory {
    const indexes: number[] = [];
    for (let k = this.size; k > 0; k--) {
      const i = (this.next - k + HISTORY_CAPACITY) % HISTORY_CAPACITY;
      if (this.times[i]! > since) indexes.push(i);
    }
    const series = {} as MetricsHistory['series'];
    for (const [name, column] of this.columns) {
      series[name] = indexes.map((i) => {
        const value = column[i]!;
        return Number.isNaN(value) ? null : value;
      });
    }
    return {
      ...member,
      intervalMs: SAMPLE_INTERVAL_MS,
      capacity: HISTORY_CAPACITY,
      now: Date.now(),
      t: indexes.map((i) => this.times[i]!),
      series,
    };
  }
}
