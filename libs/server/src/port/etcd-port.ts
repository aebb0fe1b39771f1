// The one typed in-process etcd port (in the spirit of etcd's v3client): every feature above the core
// (registry, config center, audit archive, console, the gateway's watch) reads, writes, watches and leases
// through it, never through a member's stores. It hides leadership, forwarding and snapshot installs.
//
// Requests and results are @cairn/mvcc's own types (Uint8Array keys and values; revisions as numbers, safe
// below 2^53 as mvcc keeps them; lease IDs as bigint).
import type {
  DeleteRangeRequest,
  DeleteRangeResult,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  TxnRequest,
  TxnResult,
  WatchRequest,
  WatchSink,
} from '@cairn/mvcc';
import type { CallContext } from '@cairn/edge';

// The call context is the edge's (every request's pipeline builds one); features import it from here too.
export { ANONYMOUS, MEMBER_DUTY, type CallContext, type Identity, internalContext } from '@cairn/edge';

// The request and result types of the port, so a feature needs no dependency of its own on @cairn/mvcc.
export type {
  Compare,
  DeleteRangeRequest,
  DeleteRangeResult,
  KeyValue,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResult,
  WatchEvent,
  WatchRequest,
  WatchResponse,
  WatchSink,
} from '@cairn/mvcc';

export interface LeaseGrantResult {
  id: bigint;
  /** The granted TTL in seconds (raised to the member's minimum, as etcd does). */
  ttl: number;
  revision: number;
}

export interface LeaseTimeToLiveResult {
  /** Remaining seconds (0 once expired but not yet revoked). */
  ttl: number;
  grantedTtl: number;
  /** Attached keys, when asked for. */
  keys: Uint8Array[];
}

/** A watch opened through the port; it lives across snapshot installs and leader changes. */
export interface PortWatch {
  /** Unique for the life of the member. */
  readonly id: number;
  /** True once the watcher has caught up with the current revision. */
  isSynced(): boolean;
  /** Stops the watcher (idempotent). */
  cancel(): void;
}

/** Why a watch ended without the caller cancelling it (its sink then gets nothing more). */
export type WatchEndListener = (error: Error) => void;

/** What a feature may know of the member it runs on. */
export interface MemberView {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  readonly name: string;
  isLeader(): boolean;
  hasLeader(): boolean;
  onLeaderChange(listener: (leader: bigint) => void): () => void;
}

export interface EtcdPort {
  readonly member: MemberView;
  /** Linearizable unless `req.serializable`. */
  range(ctx: CallContext, req: RangeRequest): Promise<RangeResult>;
  put(ctx: CallContext, req: PutRequest): Promise<PutResult>;
  deleteRange(ctx: CallContext, req: DeleteRangeRequest): Promise<DeleteRangeResult>;
  /** A txn without writes is served as a read (linearizable unless every range in it is serializable). */
  txn(ctx: CallContext, req: TxnRequest): Promise<TxnResult>;
  /**
   * Watch a key or range, resumable from `startRevision` (a compacted one gets a response with
   * `compactRevision` set and the watch ends, as in etcd). The sink returns false when its consumer is full:
   * the response is kept and offered again (see @cairn/mvcc's WatchSink), nothing is lost.
   */
  watch(ctx: CallContext, req: WatchRequest, sink: WatchSink, onEnd?: WatchEndListener): PortWatch;
  leaseGrant(ctx: CallContext, req: { ttl: number; id?: bigint }): Promise<LeaseGrantResult>;
  /**
   * A lease grant and a txn whose puts may name it, proposed as ONE Raft entry and applied atomically: the
   * lease exists afterwards only if the txn succeeded. The failure branch must not name the lease.
   */
  leaseGrantTxn(
    ctx: CallContext,
    lease: { ttl: number; id?: bigint },
    txn: (id: bigint) => TxnRequest,
  ): Promise<{ lease: LeaseGrantResult; txn: TxnResult }>;
  /** Revokes the lease and deletes its keys; 'lease-not-found' when it does not exist. */
  leaseRevoke(ctx: CallContext, id: bigint): Promise<{ revision: number }>;
  /** One keep-alive: the new TTL in seconds, or 0 when the lease does not exist (not an error, as etcd). */
  leaseKeepAlive(ctx: CallContext, id: bigint): Promise<number>;
  /**
   * undefined when the lease does not exist. Asks the leader (whose lessor alone runs the expiry clock)
   * unless `serializable`: then this member's own lessor answers at once, with the remaining TTL as of the
   * last checkpoint on a follower (cheap enough for every instance of a registry listing).
   */
  leaseTimeToLive(
    ctx: CallContext,
    id: bigint,
    options?: { keys?: boolean; serializable?: boolean },
  ): Promise<LeaseTimeToLiveResult | undefined>;
  /** This member's applied revisions (a serializable view, no round trip). */
  revisions(): { current: number; compact: number };
}
