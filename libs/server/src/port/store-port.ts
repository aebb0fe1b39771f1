// The EtcdPort's semantics, written once over a small driver: validation with etcd's errors (the same checks
// as the gRPC services), reads from the store after the driver's read barrier, writes proposed as the same
// InternalRaftRequests a client's would be, watches on the one watchable store, and the call context
// (identity, deadline, cancellation, leader requirement) applied the same way to every call.
import { randomBytes } from 'node:crypto';
import { EtcdError, etcdError } from '@cairn/api';
import {
  type DeleteRangeRequest,
  type DeleteRangeResult,
  type KvStore,
  MAX_LEASE_TTL,
  type PutRequest,
  type PutResult,
  type RangeRequest,
  type RangeResult,
  type TxnRequest,
  type TxnResult,
  type WatchableStore,
  type WatchRequest,
  type WatchSink,
} from '@cairn/mvcc';
import { type AppliedValue, type ApplyResult, READ_ONLY_BATCH, toEtcdError } from '../applier';
import type { AuthStore } from '../auth/auth-store';
import {
  checkDeletePermitted,
  checkLeaseRevokePermitted,
  checkPutPermitted,
  checkRangePermitted,
  checkTxnPermitted,
} from '../auth/request-permissions';
import { checkDelete, checkPut, checkRange, checkTxn } from '../etcd/validation';
import { wireDeleteRangeRequest, wirePutRequest, wireRangeRequest, wireTxnRequest } from '../kv-codec';
import type { ProposalBody } from '../proposal';
import type {
  CallContext,
  EtcdPort,
  Identity,
  LeaseGrantResult,
  LeaseTimeToLiveResult,
  MemberView,
  PortWatch,
  WatchEndListener,
} from './etcd-port';

/** What a port needs from whatever applies its writes: a member through Raft, or a bare store in tests. */
export interface PortDriver {
  readonly member: MemberView;
  /** The member's stores: the same objects for its whole life (a snapshot install restores them in place). */
  readonly kv: KvStore;
  readonly watchable: WatchableStore;
  /** Users, roles and permissions: reads are checked here, writes here and again at apply. */
  readonly auth: AuthStore;
  readonly maxTxnOps: number;
  /** Resolves when a linearizable read may be served locally. */
  readBarrier(): Promise<void>;
  /** Proposes (or applies) a request on behalf of `identity` and resolves with its apply result. */
  submit(body: ProposalBody, identity: Identity): Promise<ApplyResult>;
  /** etcd's quota check before a write that may grow the store. */
  checkQuota(cost: number): Promise<void>;
  leaseExists(id: bigint): boolean;
  /** The keys attached to a lease (revoking it deletes them: the caller needs WRITE on each). */
  leaseKeys(id: bigint): Uint8Array[];
  /** The renewed TTL; 'lease-not-found' when the lease does not exist. */
  renewLease(id: bigint): Promise<number>;
  leaseTimeToLive(id: bigint, keys: boolean): Promise<LeaseTimeToLiveResult | undefined>;
  /** This member's own lessor, without asking the leader. */
  localLeaseTimeToLive(id: bigint, keys: boolean): LeaseTimeToLiveResult | undefined;
}

export class StorePort implements EtcdPort {
  constructor(private readonly driver: PortDriver) {}

  get member(): MemberView {
    return this.driver.member;
  }

  range(ctx: CallContext, req: RangeRequest): Promise<RangeResult> {
    return this.call(ctx, async () => {
      const wire = wireRangeRequest(req);
      checkRange(wire);
      checkRangePermitted(this.driver.auth, ctx.identity, wire);
      if (!req.serializable) await this.driver.readBarrier();
      return this.driver.kv.range(req);
    });
  }

  put(ctx: CallContext, req: PutRequest): Promise<PutResult> {
    return this.call(ctx, async () => {
      const wire = wirePutRequest(req);
      checkPut(wire);
      checkPutPermitted(this.driver.auth, ctx.identity, wire);
      await this.driver.checkQuota(wire.key.length + wire.value.length);
      return expectValue(await this.driver.submit({ put: wire }, ctx.identity), 'put').result;
    });
  }

  deleteRange(ctx: CallContext, req: DeleteRangeRequest): Promise<DeleteRangeResult> {
    return this.call(ctx, async () => {
      const wire = wireDeleteRangeRequest(req);
      checkDelete(wire);
      checkDeletePermitted(this.driver.auth, ctx.identity, wire);
      return expectValue(await this.driver.submit({ delete_range: wire }, ctx.identity), 'deleteRange')
        .result;
    });
  }

  txn(ctx: CallContext, req: TxnRequest): Promise<TxnResult> {
    return this.call(ctx, async () => {
      const wire = wireTxnRequest(req);
      checkTxn(wire, this.driver.maxTxnOps);
      checkTxnPermitted(this.driver.auth, ctx.identity, wire);
      if (!txnWrites(req)) {
        if (!txnAllSerializable(req)) await this.driver.readBarrier();
        return this.driver.kv.applyTxn(req, READ_ONLY_BATCH);
      }
      await this.driver.checkQuota(0);
      return expectValue(await this.driver.submit({ txn: wire }, ctx.identity), 'txn').result;
    });
  }

  watch(ctx: CallContext, req: WatchRequest, sink: WatchSink, onEnd?: WatchEndListener): PortWatch {
    const { watchable } = this.driver;
    let cancelled = false;
    let stopLeaderWatch: (() => void) | undefined;
    let stopAbortWatch: (() => void) | undefined;
    let id: number;
    try {
      this.checkContext(ctx);
      // etcd checks READ on the watched range when the watch is created (not again later).
      this.driver.auth.checkKeys(
        ctx.identity,
        Buffer.from(req.key),
        req.rangeEnd ? Buffer.from(req.rangeEnd) : Buffer.alloc(0),
        'read',
      );
      id = watchable.watch(req, (response) => {
        if (cancelled) return true;
        const taken = sink(response);
        // A compaction notice ends the watcher in the store.
        if (response.compactRevision !== undefined && taken) stopLeaderWatch?.();
        return taken;
      });
    } catch (err) {
      // Thrown to the caller as etcd's error (a closed store is "server stopped"), never an mvcc internal.
      throw toEtcdError(err);
    }
    const cancel = (): void => {
      if (cancelled) return;
      cancelled = true;
      stopLeaderWatch?.();
      stopAbortWatch?.();
      watchable.cancel(id);
    };
    if (ctx.requireLeader) {
      stopLeaderWatch = this.driver.member.onLeaderChange((leader) => {
        if (leader !== 0n) return;
        cancel();
        onEnd?.(etcdError('no-leader'));
      });
    }
    if (ctx.signal) {
      const signal = ctx.signal;
      const onAbort = (): void => {
        cancel();
        onEnd?.(etcdError('canceled'));
      };
      if (signal.aborted) onAbort();
      else stopAbortWatch = onAbortOf(signal, onAbort);
    }
    return { id, isSynced: () => !cancelled && watchable.isSynced(id), cancel };
  }

  leaseGrant(ctx: CallContext, req: { ttl: number; id?: bigint }): Promise<LeaseGrantResult> {
    return this.call(ctx, async () => {
      if (req.ttl > MAX_LEASE_TTL) throw etcdError('lease-ttl-too-large');
      await this.driver.checkQuota(0);
      let id = req.id ?? 0n;
      // etcd picks a positive 63-bit ID when the caller leaves it to the server.
      while (id === 0n || (req.id === undefined && this.driver.leaseExists(id))) {
        id = randomBytes(8).readBigUInt64BE() & 0x7fff_ffff_ffff_ffffn;
      }
      const body: ProposalBody = { lease_grant: { ID: id.toString(), TTL: String(req.ttl) } };
      const granted = expectValue(await this.driver.submit(body, ctx.identity), 'leaseGrant');
      return { id: granted.id, ttl: granted.ttl, revision: granted.revision };
    });
  }

  leaseGrantTxn(
    ctx: CallContext,
    lease: { ttl: number; id?: bigint },
    txn: (id: bigint) => TxnRequest,
  ): Promise<{ lease: LeaseGrantResult; txn: TxnResult }> {
    return this.call(ctx, async () => {
      if (lease.ttl > MAX_LEASE_TTL) throw etcdError('lease-ttl-too-large');
      const id = this.pickLeaseId(lease.id);
      const req = txn(id);
      const wire = wireTxnRequest(req);
      checkTxn(wire, this.driver.maxTxnOps);
      checkTxnPermitted(this.driver.auth, ctx.identity, wire);
      if (anyOp(req.failure ?? [], (op) => 'put' in op && op.put.lease === id)) {
        throw new Error('the failure branch of a lease-grant txn must not name its lease');
      }
      await this.driver.checkQuota(0);
      const body: ProposalBody = {
        lease_grant_txn: { lease_grant: { ID: id.toString(), TTL: String(lease.ttl) }, txn: wire },
      };
      const applied = expectValue(await this.driver.submit(body, ctx.identity), 'leaseGrantTxn');
      return {
        lease: { id: applied.id, ttl: applied.ttl, revision: applied.result.revision },
        txn: applied.result,
      };
    });
  }

  /** The caller's lease ID, or a fresh positive 63-bit one (as etcd picks when left to the server). */
  private pickLeaseId(requested: bigint | undefined): bigint {
    let id = requested ?? 0n;
    while (id === 0n || (requested === undefined && this.driver.leaseExists(id))) {
      id = randomBytes(8).readBigUInt64BE() & 0x7fff_ffff_ffff_ffffn;
    }
    return id;
  }

  leaseRevoke(ctx: CallContext, id: bigint): Promise<{ revision: number }> {
    return this.call(ctx, async () => {
      if (!this.driver.leaseExists(id)) throw etcdError('lease-not-found');
      checkLeaseRevokePermitted(this.driver.auth, ctx.identity, this.driver.leaseKeys(id));
      const body: ProposalBody = { lease_revoke: { ID: id.toString() } };
      return { revision: expectValue(await this.driver.submit(body, ctx.identity), 'revision').revision };
    });
  }

  leaseKeepAlive(ctx: CallContext, id: bigint): Promise<number> {
    return this.call(ctx, async () => {
      try {
        return await this.driver.renewLease(id);
      } catch (err) {
        const mapped = toEtcdError(err);
        if (mapped instanceof EtcdError && mapped.code === 'lease-not-found') return 0;
        throw mapped;
      }
    });
  }

  leaseTimeToLive(
    ctx: CallContext,
    id: bigint,
    options: { keys?: boolean; serializable?: boolean } = {},
  ): Promise<LeaseTimeToLiveResult | undefined> {
    return this.call(ctx, async () => {
      if (options.serializable) return this.driver.localLeaseTimeToLive(id, options.keys ?? false);
      await this.driver.readBarrier();
      return this.driver.leaseTimeToLive(id, options.keys ?? false);
    });
  }

  revisions(): { current: number; compact: number } {
    return { current: this.driver.kv.currentRevision, compact: this.driver.kv.compactRevision };
  }

  // ---- the call context ------------------------------------------------------------------------------

  private checkContext(ctx: CallContext): void {
    if (ctx.signal?.aborted) throw etcdError('canceled');
    if (ctx.deadline !== undefined && Date.now() >= ctx.deadline) throw etcdError('deadline-exceeded');
    if (ctx.requireLeader && !this.driver.member.hasLeader()) throw etcdError('no-leader');
  }

  /**
   * Runs one call under its context: refused up front when it is already over, abandoned (with etcd's
   * error) when its deadline passes or it is cancelled. A write already proposed still applies, as in etcd.
   */
  private async call<T>(ctx: CallContext, run: () => Promise<T> | T): Promise<T> {
    try {
      this.checkContext(ctx);
      if (ctx.deadline === undefined && !ctx.signal) return await run();
      return await raceContext(ctx, Promise.resolve().then(run));
    } catch (err) {
      throw toEtcdError(err);
    }
  }
}

/**
 * The watches open under each call's signal. A Watch stream opens all its watches under its one signal: a single
 * abort listener per signal ends them all (a listener per watch passed Node's limit of 10 at the 11th watch of a
 * stream and was never removed when the watch was cancelled).
 */
const abortListeners = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `listener` when `signal` aborts; returns its removal. */
function onAbortOf(signal: AbortSignal, listener: () => void): () => void {
  let listeners = abortListeners.get(signal);
  if (!listeners) {
    const all = new Set<() => void>();
    listeners = all;
    abortListeners.set(signal, all);
    signal.addEventListener(
      'abort',
      () => {
        abortListeners.delete(signal);
        for (const each of [...all]) each();
      },
      { once: true },
    );
  }
  listeners.add(listener);
  const own = listeners;
  return () => own.delete(listener);
}

function raceContext<T>(ctx: CallContext, work: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      cleanup();
      reject(etcdError('canceled'));
    };
    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      ctx.signal?.removeEventListener('abort', onAbort);
    };
    if (ctx.deadline !== undefined) {
      timer = setTimeout(
        () => {
          cleanup();
          reject(etcdError('deadline-exceeded'));
        },
        Math.max(0, ctx.deadline - Date.now()),
      );
    }
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (err: unknown) => {
        cleanup();
        reject(err);
      },
    );
  });
}

function expectValue<K extends AppliedValue['kind']>(
  result: ApplyResult,
  kind: K,
): Extract<AppliedValue, { kind: K }> {
  if (result.error) throw result.error;
  const value = result.value;
  if (!value || value.kind !== kind)
    throw new Error(`apply answered ${value?.kind ?? 'nothing'}, not ${kind}`);
  return value as Extract<AppliedValue, { kind: K }>;
}

type Ops = NonNullable<TxnRequest['success']>;

function anyOp(ops: Ops, test: (op: Ops[number]) => boolean): boolean {
  return ops.some(
    (op) =>
      test(op) || ('txn' in op ? anyOp([...(op.txn.success ?? []), ...(op.txn.failure ?? [])], test) : false),
  );
}

function txnWrites(req: TxnRequest): boolean {
  return anyOp([...(req.success ?? []), ...(req.failure ?? [])], (op) => 'put' in op || 'deleteRange' in op);
}

function txnAllSerializable(req: TxnRequest): boolean {
  return !anyOp(
    [...(req.success ?? []), ...(req.failure ?? [])],
    (op) => 'range' in op && !op.range.serializable,
  );
}
