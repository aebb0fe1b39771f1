// Prometheus metrics under etcd's names (so existing dashboards and alerts work), read from the node at
// scrape time; durations and gRPC calls are recorded as they happen.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CairnNode } from '@cairn/server';
import { CAIRN_VERSION, ETCD_API_VERSION, ETCD_CLUSTER_VERSION } from '@cairn/server';
import type { PipelineMetricsSink } from '@cairn/edge';

export interface SocketByteCounts {
  received(): number;
  sent(): number;
}

export class CairnMetrics {
  readonly registry = new Registry();
  private node?: CairnNode;
  private grpcBytes?: SocketByteCounts;
  private readonly walFsync: Histogram;
  private readonly backendCommit: Histogram;
  private readonly httpHandled: Counter;
  // gRPC calls are counted here and handed to prom-client at scrape time: its inc() hashes the label set on
  // every call, measured at a few µs per request on the write path.
  private readonly grpcCounts = new GrpcCallCounts();

  constructor() {
    const registers = [this.registry];
    // prom-client calls collect() with the metric as `this`, hence the captured `self`.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    const gauge = (name: string, help: string, read: (node: CairnNode) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          if (self.node) this.set(read(self.node));
        },
      });
    };
    const counter = (name: string, help: string, read: () => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    };
    gauge('etcd_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.', (n) =>
      n.hasLeader() ? 1 : 0,
    );
    gauge('etcd_server_is_leader', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', (n) =>
      n.isLeader() ? 1 : 0,
    );
    counter(
      'etcd_server_leader_changes_seen_total',
      'The number of leader changes seen.',
      () => this.node?.stats.leaderChanges ?? 0,
    );
    gauge(
      'etcd_server_proposals_committed_total',
      'The total number of consensus proposals committed.',
      (n) => n.stats.proposalsCommitted,
    );
    gauge(
      'etcd_server_proposals_applied_total',
      'The total number of consensus proposals applied.',
      (n) => n.stats.proposalsApplied,
    );
    gauge(
      'etcd_server_proposals_pending',
      'The current number of pending proposals to commit.',
      (n) => n.stats.proposalsPending,
    );
    counter(
      'etcd_server_proposals_failed_total',
      'The total number of failed proposals seen.',
      () => this.node?.stats.proposalsFailed ?? 0,
    );
    counter(
      'cairn_apply_errors_total',
      'Committed entries that could not be decoded or applied (answered as an error, skipped on every member).',
      () => this.node?.stats.applyErrors ?? 0,
    );
    gauge(
      'etcd_mvcc_db_total_size_in_bytes',
      'Total size of the underlying database physically allocated in bytes.',
      (n) => n.dbSizeBytes,
    );
    gauge(
      'etcd_debugging_mvcc_current_revision',
      'The current revision of store.',
      (n) => n.kv.currentRevision,
    );
    gauge(
      'cairn_data_format',
      "The store's data format: 1 numbers revisions from 0 (Cairn 0.1), 2 as etcd does (from 1).",
      (n) => n.kv.dataFormat,
    );
    gauge(
      'etcd_debugging_mvcc_compact_revision',
      'The revision of the last compaction in store.',
      (n) => n.kv.compactRevision,
    );
    gauge('etcd_debugging_mvcc_watcher_total', 'Total number of watchers.', (n) => {
      const stats = n.watchable.stats;
      return stats.synced + stats.unsynced + stats.victims;
    });
    gauge('etcd_debugging_lease_total', 'The number of leases.', (n) => n.leases.leases().length);
    gauge('cairn_raft_term', 'The current Raft term of this member.', (n) => n.status().term);
    gauge(
      'cairn_raft_applied_index',
      'The index of the last applied Raft entry.',
      (n) => n.status().appliedIndex,
    );
    counter(
      'etcd_mvcc_put_total',
      'Total number of puts seen by this member.',
      () => this.node?.stats.puts ?? 0,
    );
    counter(
      'etcd_network_client_grpc_received_bytes_total',
      'The total number of bytes received from grpc clients.',
      () => this.grpcBytes?.received() ?? 0,
    );
    counter(
      'etcd_network_client_grpc_sent_bytes_total',
      'The total number of bytes sent to grpc clients.',
      () => this.grpcBytes?.sent() ?? 0,
    );
    new Gauge({
      name: 'etcd_server_id',
      help: 'Server or member ID in hexadecimal format. 1 for server_id label with current ID.',
      labelNames: ['server_id'],
      registers,
      collect() {
        if (self.node) this.set({ server_id: self.node.memberId.toString(16) }, 1);
      },
    });
    new Gauge({
      name: 'etcd_server_version',
      help: 'Which version is running.',
      labelNames: ['server_version'],
      registers,
    }).set({ server_version: ETCD_API_VERSION }, 1);
    new Gauge({
      name: 'etcd_cluster_version',
      help: 'Which version is running.',
      labelNames: ['cluster_version'],
      registers,
    }).set({ cluster_version: ETCD_CLUSTER_VERSION.replace(/\.\d+$/, '') }, 1);
    new Gauge({
      name: 'cairn_version',
      help: 'Which Cairn version is running.',
      labelNames: ['version'],
      registers,
    }).set({ version: CAIRN_VERSION }, 1);
    // etcd's buckets: 1 ms .. ~8 s doubling.
    const buckets = Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i);
    this.walFsync = new Histogram({
      name: 'etcd_disk_wal_fsync_duration_seconds',
      help: 'The latency distributions of fsync called by WAL.',
      buckets,
      registers,
    });
    this.backendCommit = new Histogram({
      name: 'etcd_disk_backend_commit_duration_seconds',
      help: 'The latency distributions of commit called by backend.',
      buckets,
      registers,
    });
    new Counter({
      name: 'grpc_server_started_total',
      help: 'Total number of RPCs started on the server.',
      labelNames: ['grpc_type', 'grpc_service', 'grpc_method'],
      registers,
      collect() {
        self.grpcCounts.publishStarted(this);
      },
    });
    new Counter({
      name: 'grpc_server_handled_total',
      help: 'Total number of RPCs completed on the server, regardless of success or failure.',
      labelNames: ['grpc_type', 'grpc_service', 'grpc_method', 'grpc_code'],
      registers,
      collect() {
        self.grpcCounts.publishHandled(this);
      },
    });
    this.httpHandled = new Counter({
      name: 'cairn_http_requests_total',
      help: 'HTTP/1.1 requests on the client URL (gateway, REST, console, probes) by route pattern and status.',
      labelNames: ['route', 'code'],
      registers,
    });
    const snapshotCounter = (
      name: string,
      help: string,
      label: 'To' | 'From',
      kind: 'success' | 'failures',
    ): void => {
      new Counter({
        name,
        help,
        labelNames: [label],
        registers,
        collect() {
          this.reset();
          const counts = label === 'To' ? self.node?.stats.snapshotsSent : self.node?.stats.snapshotsReceived;
          for (const [peer, entry] of counts ?? []) this.inc({ [label]: peer }, entry[kind]);
        },
      });
    };
    snapshotCounter(
      'etcd_network_snapshot_send_success',
      'Total number of successful snapshot sends',
      'To',
      'success',
    );
    snapshotCounter(
      'etcd_network_snapshot_send_failures',
      'Total number of snapshot send failures',
      'To',
      'failures',
    );
    snapshotCounter(
      'etcd_network_snapshot_receive_success',
      'Total number of successful snapshot receives',
      'From',
      'success',
    );
    snapshotCounter(
      'etcd_network_snapshot_receive_failures',
      'Total number of snapshot receive failures',
      'From',
      'failures',
    );
    new Gauge({
      name: 'cairn_peer_active',
      help: 'Whether the peer stream from this member delivered something within the last few seconds.',
      labelNames: ['peer_id', 'peer_name'],
      registers,
      collect() {
        this.reset();
        for (const peer of self.node?.peerHealth() ?? []) {
          this.set({ peer_id: peer.id.toString(16), peer_name: peer.name }, peer.active ? 1 : 0);
        }
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  attach(node: CairnNode, grpcBytes: SocketByteCounts): void {
    this.node = node;
    this.grpcBytes = grpcBytes;
  }

  observe(kind: 'wal_fsync' | 'backend_commit', seconds: number): void {
    (kind === 'wal_fsync' ? this.walFsync : this.backendCommit).observe(seconds);
  }

  /** The request pipeline's metrics: gRPC calls as go-grpc-prometheus counts them, HTTP by route and status. */
  readonly pipelineSink: PipelineMetricsSink = {
    started: (request) => {
      if (request.surface !== 'grpc') return; // an HTTP route is known only once it is served
      this.grpcCounts.of(request.kind, request.method).started++;
    },
    handled: (request, outcome) => {
      if (request.surface === 'grpc') {
        const handled = this.grpcCounts.of(request.kind, request.method).handled;
        handled.set(outcome.code, (handled.get(outcome.code) ?? 0) + 1);
      } else {
        this.httpHandled.inc({ route: request.method, code: outcome.code });
      }
    },
  };
}

function splitGrpcMethod(fullName: string): [string, string] {
  const slash = fullName.lastIndexOf('/');
  return slash < 0 ? ['', fullName] : [fullName.slice(0, slash), fullName.slice(slash + 1)];
}

/** One gRPC method's calls by kind: its labels, calls started and handled by code. */
interface GrpcMethodCounts {
  readonly labels: { grpc_type: string; grpc_service: string; grpc_method: string };
  started: number;
  readonly handled: Map<string, number>;
}

/**
 * go-grpc-prometheus's counts, found per call by the request's own strings (kind, then method) — no label
 * object or key built per call — and set into the prom-client Counters at scrape time.
 */
class GrpcCallCounts {
  private readonly byKind = new Map<string, Map<string, GrpcMethodCounts>>();

  of(kind: string, fullMethod: string): GrpcMethodCounts {
    let methods = this.byKind.get(kind);
    if (methods === undefined) this.byKind.set(kind, (methods = new Map()));
    let counts = methods.get(fullMethod);
    if (counts === undefined) {
      const [service, method] = splitGrpcMethod(fullMethod);
      counts = {
        labels: { grpc_type: kind, grpc_service: service, grpc_method: method },
        started: 0,
        handled: new Map(),
      };
      methods.set(fullMethod, counts);
    }
    return counts;
  }

  publishStarted(counter: Counter): void {
    counter.reset();
    for (const methods of this.byKind.values())
      for (const { labels, started } of methods.values()) if (started > 0) counter.inc(labels, started);
  }

  publishHandled(counter: Counter): void {
    counter.reset();
    for (const methods of this.byKind.values())
      for (const { labels, handled } of methods.values())
        for (const [code, n] of handled) counter.inc({ ...labels, grpc_code: code }, n);
  }
}
