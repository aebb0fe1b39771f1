// etcd's v3lockpb.Lock service (server/etcdserver/api/v3lock) over the member's EtcdPort, with the caller's
// context, so the caller's permissions apply to every read and write the recipe makes. The algorithm is
// etcd's client-side Mutex (client/v3/concurrency/mutex.go) run inside the server: the lock is the key
// `<name>/<lease in hex>` held by the lease, and its owner is the key under `<name>/` with the lowest create
// revision. The ownership-key helpers here are shared with the Election service, which runs the same wait.
import { EtcdError, GrpcStatus, etcdError, prefixEnd } from '@cairn/api';
import type { KeyValue, RangeRequest, RangeResult, ResponseOp } from '@cairn/mvcc';
import type { CallContext, EtcdPort, PortWatch } from '../port/etcd-port';
import type { WatchSource } from './watch-session';

/** The port the recipes run on and the response header they answer with. */
export type RecipeSource = WatchSource;

/** etcd's concurrency.Session default TTL: what a Lock or Campaign without a lease is held by. */
export const SESSION_TTL_SECONDS = 60;

/** setTimeout fires at once past this delay, so a later deadline needs no timer at all. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The wire shape of v3lockpb.LockRequest as grpc-js and the gateway decode it. */
export interface LockRequestWire {
  name: Buffer;
  lease: string;
}

/** The wire shape of v3lockpb.UnlockRequest. */
export interface UnlockRequestWire {
  key: Buffer;
}

/** `<name>/`: the prefix every contender's key lives under (NewMutex / NewElection append the slash). */
export function contenderPrefix(name: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(name), Buffer.from('/')]);
}

/** `<prefix><lease in hex>`, as Go's fmt.Sprintf("%s%x", pfx, lease) spells it. */
export function contenderKey(prefix: Buffer, lease: bigint): Buffer {
  return Buffer.concat([prefix, Buffer.from(lease.toString(16))]);
}

/** An int64 field as grpc-js and the gateway decode it (a decimal string; absent is "0"). */
export function int64Of(value: string | number | undefined): bigint {
  if (value === undefined || value === '') return 0n;
  return BigInt(value);
}

/** Get(prefix, WithFirstCreate()): the oldest key under the prefix. */
export function firstCreate(prefix: Buffer): RangeRequest {
  return { key: prefix, rangeEnd: prefixEnd(prefix), sortTarget: 'CREATE', sortOrder: 'ASCEND', limit: 1 };
}

/** The range result of one txn response (the recipes only put ranges where they read them back). */
export function rangeOf(op: ResponseOp | undefined): RangeResult {
  if (op !== undefined && 'range' in op) return op.range;
  return { kvs: [], more: false, count: 0, revision: 0 };
}

/**
 * The lease a recipe's key is held by. etcd's servers open a concurrency.Session WithLease(req.lease): lease 0
 * means the session grants a fresh one (60 s TTL) and orphans it at once, so the key lives until that lease
 * expires. Any other ID is used as given; an unknown one fails the put with "requested lease not found".
 */
export async function sessionLease(port: EtcdPort, ctx: CallContext, lease: bigint): Promise<bigint> {
  if (lease !== 0n) return lease;
  return (await port.leaseGrant(ctx, { ttl: SESSION_TTL_SECONDS })).id;
}

/** The caller's identity without its signal and deadline: etcd cleans up with the client's own context. */
export function cleanupContext(ctx: CallContext): CallContext {
  return { identity: ctx.identity };
}

/** A failed inner call as the caller of a recipe sees it: gRPC Unknown with etcd's message (see recipeCall). */
export interface RecipeFailure {
  code: GrpcStatus;
  details: string;
  message: string;
}

/**
 * Runs a recipe the way etcd's servers do, through their in-process client: its errors (rpctypes.EtcdError)
 * carry no gRPC status, so etcd answers Unknown with the error's message ("etcdserver: requested lease not
 * found" is code 2, HTTP 500 on the gateway; checked against etcd 3.4). Clients map errors by message, so the
 * message is kept. The caller's own cancellation and deadline keep their codes. A plain object, not an Error:
 * toGrpcStatus would map an Error carrying a known message back to that message's code.
 */
export async function recipeCall<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof EtcdError) || err.code === 'canceled' || err.code === 'deadline-exceeded') throw err;
    const failure: RecipeFailure = { code: GrpcStatus.UNKNOWN, details: err.message, message: err.message };
    throw failure;
  }
}

/** Whether the caller has gone away or run out of time (etcd's ctx.Done()). */
export function contextEnded(ctx: CallContext): boolean {
  return ctx.signal?.aborted === true || (ctx.deadline !== undefined && Date.now() >= ctx.deadline);
}

/**
 * A wait that `start` settles (through the watch it opens), ended with etcd's error when the caller goes away
 * or its deadline passes. However it ends, the watch `start` returned is cancelled, so none outlives the wait.
 */
export function boundedWait<T>(
  ctx: CallContext,
  start: (settle: (outcome: { value: T } | { error: unknown }) => void) => PortWatch | undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let watch: PortWatch | undefined;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => settle({ error: etcdError('canceled') });
    function settle(outcome: { value: T } | { error: unknown }): void {
      if (settled) return;
      settled = true;
      watch?.cancel();
      if (timer !== undefined) clearTimeout(timer);
      ctx.signal?.removeEventListener('abort', onAbort);
      if ('value' in outcome) resolve(outcome.value);
      else reject(outcome.error);
    }
    if (ctx.signal?.aborted) return settle({ error: etcdError('canceled') });
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    if (ctx.deadline !== undefined) {
      const delay = ctx.deadline - Date.now();
      if (delay <= 0) return settle({ error: etcdError('deadline-exceeded') });
      if (delay <= MAX_TIMER_MS)
        timer = setTimeout(() => settle({ error: etcdError('deadline-exceeded') }), delay);
    }
    try {
      watch = start(settle);
    } catch (err) {
      settle({ error: err });
    }
    // The store may deliver history (and so settle) synchronously, before `watch` was assigned.
    if (settled) watch?.cancel();
  });
}

/** etcd's waitDelete: watch `key` from `revision` until a DELETE event. */
function waitDelete(port: EtcdPort, ctx: CallContext, key: Buffer, revision: number): Promise<void> {
  return boundedWait<void>(ctx, (settle) =>
    port.watch(
      ctx,
      { key, startRevision: revision },
      (response) => {
        if (response.compactRevision !== undefined) settle({ error: etcdError('compacted') });
        else if (response.events.some((event) => event.type === 'delete')) settle({ value: undefined });
        return true;
      },
      (error) => settle({ error }),
    ),
  );
}

/**
 * etcd's waitDeletes: until no key under `prefix` has a create revision <= `maxCreateRevision`, wait for the
 * deletion of the youngest such key (only the immediate predecessor, so a release wakes one waiter, not all).
 * Answers the revision of the last read (the header etcd's Mutex answers with).
 */
export async function waitDeletes(
  port: EtcdPort,
  ctx: CallContext,
  prefix: Buffer,
  maxCreateRevision: number,
): Promise<number> {
  // No key is created at revision 0 or before (and a range's maxCreateRevision of 0 means "no bound"). Only a
  // store still on data format 1 (revisions from 1, not etcd's 2) gets here: there the first key is at 1.
  if (maxCreateRevision < 1) return port.revisions().current;
  for (;;) {
    const read = await port.range(ctx, {
      key: prefix,
      rangeEnd: prefixEnd(prefix),
      sortTarget: 'CREATE',
      sortOrder: 'DESCEND',
      limit: 1,
      maxCreateRevision,
    });
    const predecessor: KeyValue | undefined = read.kvs[0];
    if (predecessor === undefined) return read.revision;
    await waitDelete(port, ctx, predecessor.key, read.revision);
  }
}

export class LockApi {
  constructor(private readonly source: RecipeSource) {}

  /**
   * Acquires `name` for the lease: one txn creates `<name>/<lease hex>` if absent (an existing key of the
   * same lease is the same acquisition) and reads the owner; if another key is older, waits for its
   * predecessors' deletion. A failed wait (client gone, deadline) deletes the key again, as etcd's Mutex.
   */
  lock(req: LockRequestWire, ctx: CallContext): Promise<object> {
    return recipeCall(() => this.acquire(req, ctx));
  }

  /** Deletes the ownership key (whoever holds it; etcd's Unlock is a plain delete). */
  unlock(req: UnlockRequestWire, ctx: CallContext): Promise<object> {
    return recipeCall(async () => {
      const deleted = await this.source.port.deleteRange(ctx, { key: req.key });
      return { header: this.source.header(deleted.revision) };
    });
  }

  private async acquire(req: LockRequestWire, ctx: CallContext): Promise<object> {
    const { port } = this.source;
    const lease = await sessionLease(port, ctx, int64Of(req.lease));
    const prefix = contenderPrefix(req.name);
    const key = contenderKey(prefix, lease);
    const owner = { range: firstCreate(prefix) };
    const txn = await port.txn(ctx, {
      compare: [{ key, target: 'CREATE', result: 'EQUAL', createRevision: 0 }],
      success: [{ put: { key, value: Buffer.alloc(0), lease } }, owner],
      failure: [{ range: { key } }, owner],
    });
    const myRevision = txn.succeeded ? txn.revision : (rangeOf(txn.responses[0]).kvs[0]?.createRevision ?? 0);
    const oldest = rangeOf(txn.responses[1]).kvs[0];
    let revision = txn.revision;
    if (oldest !== undefined && oldest.createRevision !== myRevision) {
      try {
        revision = await waitDeletes(port, ctx, prefix, myRevision - 1);
      } catch (err) {
        // Never leave a waiter's key behind: it would block every later locker until its lease died.
        await port.deleteRange(cleanupContext(ctx), { key }).catch(() => undefined);
        throw err;
      }
    }
    return { header: this.source.header(revision), key };
  }
}
