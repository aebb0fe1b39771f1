// Request-level Put and DeleteRange on a write transaction (etcd's apply of PutRequest and
// DeleteRangeRequest), shared by KvStore.put/deleteRange and by txns.
import { MvccError } from './errors';
import type { KeyValue } from './key-value';
import type {
  DeleteRangeRequest,
  DeleteRangeResult,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
} from './types';
import type { WriteTxn } from './write-txn';

const EMPTY: Buffer = Buffer.alloc(0);

/** Edge checks of a PutRequest that need no state (etcd does them before proposing). */
export function validatePutRequest(req: PutRequest): void {
  if (req.ignoreValue && req.value && req.value.length > 0) throw new MvccError('value-provided');
  if (req.ignoreLease && (req.lease ?? 0n) !== 0n) throw new MvccError('lease-provided');
}

/** Anything that reads at its own (latest) revision: a write txn or the store. */
export interface LatestReader {
  range(req: RangeRequest): RangeResult | Promise<RangeResult>;
}

/** The live version of a single key as `reader` sees it (always in memory). */
export function currentKv(reader: LatestReader, key: Uint8Array): KeyValue | undefined {
  // A single-key range at the reader's own revision never reads history, so it is synchronous.
  const result = reader.range({ key });
  if (result instanceof Promise) throw new Error('mvcc: unexpected history read');
  return result.kvs[0];
}

/**
 * State checks of a PutRequest that must pass before a txn writes anything: ignore_value/ignore_lease
 * need the key, and a lease must exist.
 */
export function checkPut(
  reader: LatestReader,
  req: PutRequest,
  leaseExists: (lease: bigint) => boolean,
): void {
  if ((req.ignoreValue || req.ignoreLease) && !currentKv(reader, req.key))
    throw new MvccError('key-not-found');
  const lease = req.lease ?? 0n;
  if (lease !== 0n && !leaseExists(lease)) throw new MvccError('lease-not-found');
}

export function applyPut(txn: WriteTxn, req: PutRequest): PutResult {
  let value: Uint8Array = req.value ?? EMPTY;
  let lease = req.lease ?? 0n;
  const prev = req.prevKv || req.ignoreValue || req.ignoreLease ? currentKv(txn, req.key) : undefined;
  if (req.ignoreValue || req.ignoreLease) {
    if (!prev) throw new MvccError('key-not-found');
    if (req.ignoreValue) value = prev.value;
    if (req.ignoreLease) lease = prev.lease;
  }
  const revision = txn.put(req.key, value, lease);
  return req.prevKv && prev ? { revision, prevKv: prev } : { revision };
}

export function applyDeleteRange(txn: WriteTxn, req: DeleteRangeRequest): DeleteRangeResult {
  const deleted = txn.deleteRange(req.key, req.rangeEnd);
  // etcd: the revision moves only if this or an earlier op of the txn changed something.
  const revision = txn.changeCount > 0 ? txn.revision : txn.beginRevision;
  return { revision, deleted: deleted.length, prevKvs: req.prevKv ? deleted : [] };
}
