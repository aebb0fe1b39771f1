// Request checks done before anything is proposed, with etcd's exact errors (etcd: api/v3rpc/key.go).
// Requests are in the shape @grpc/proto-loader decodes them (keepCase, Buffers, int64 as strings, enums as
// numbers, oneof case names in `request`/`target_union`).
import { etcdError } from '@cairn/api';

export interface RangeLike {
  key: Buffer;
  range_end: Buffer;
  sort_order: number;
  sort_target: number;
}
export interface PutLike {
  key: Buffer;
  value: Buffer;
  lease: string | number;
  ignore_value: boolean;
  ignore_lease: boolean;
}
export interface DeleteLike {
  key: Buffer;
  range_end: Buffer;
}
export interface CompareLike {
  key: Buffer;
  range_end: Buffer;
}
export interface RequestOpLike {
  request?: string | null;
  request_range?: RangeLike | null;
  request_put?: PutLike | null;
  request_delete_range?: DeleteLike | null;
  request_txn?: TxnLike | null;
}
export interface TxnLike {
  compare: CompareLike[];
  success: RequestOpLike[];
  failure: RequestOpLike[];
}

const SORT_ORDERS = new Set([0, 1, 2]);
const SORT_TARGETS = new Set([0, 1, 2, 3, 4]);

function isEmpty(buf: Buffer | null | undefined): boolean {
  return !buf || buf.length === 0;
}

export function checkRange(req: RangeLike): void {
  if (isEmpty(req.key)) throw etcdError('empty-key');
  if (!SORT_ORDERS.has(req.sort_order) || !SORT_TARGETS.has(req.sort_target)) {
    throw etcdError('invalid-sort-option');
  }
}

export function checkPut(req: PutLike): void {
  if (isEmpty(req.key)) throw etcdError('empty-key');
  if (req.ignore_value && !isEmpty(req.value)) throw etcdError('value-provided');
  if (req.ignore_lease && String(req.lease) !== '0') throw etcdError('lease-provided');
}

export function checkDelete(req: DeleteLike): void {
  if (isEmpty(req.key)) throw etcdError('empty-key');
}

export function checkTxn(req: TxnLike, maxTxnOps: number): void {
  checkTxnOps(req, maxTxnOps);
  checkIntervals(req);
}

function checkTxnOps(req: TxnLike, maxTxnOps: number): void {
  const opc = Math.max(req.compare.length, req.success.length, req.failure.length);
  if (opc > maxTxnOps) throw etcdError('too-many-ops');
  for (const cmp of req.compare) if (isEmpty(cmp.key)) throw etcdError('empty-key');
  // etcd: a nested txn may only use the ops its parent left over.
  for (const op of [...req.success, ...req.failure]) checkOp(op, maxTxnOps - opc);
}

function checkOp(op: RequestOpLike, maxTxnOps: number): void {
  if (op.request_range) checkRange(op.request_range);
  else if (op.request_put) checkPut(op.request_put);
  else if (op.request_delete_range) checkDelete(op.request_delete_range);
  else if (op.request_txn) checkTxnOps(op.request_txn, maxTxnOps);
  else throw etcdError('key-not-found'); // etcd: an empty RequestOp
}

interface Interval {
  start: Buffer;
  /** Exclusive; undefined = the single key `start`; empty buffer = to the end of the key space. */
  end?: Buffer;
}

function intervalOf(key: Buffer, rangeEnd: Buffer | null | undefined): Interval {
  if (isEmpty(rangeEnd)) return { start: key };
  if (rangeEnd!.length === 1 && rangeEnd![0] === 0) return { start: key, end: Buffer.alloc(0) };
  return { start: key, end: rangeEnd! };
}

function contains(interval: Interval, key: Buffer): boolean {
  if (interval.end === undefined) return interval.start.equals(key);
  if (Buffer.compare(key, interval.start) < 0) return false;
  return interval.end.length === 0 || Buffer.compare(key, interval.end) < 0;
}

/**
 * etcd forbids modifying the same key twice in one branch of a txn (including its nested txns): two puts of
 * one key, or a put inside a deleted range. As etcd's checkIntervals: a nested txn's branches are
 * alternatives (the same key may be put in both, or deleted in one and put in the other), but what any nested
 * txn puts must not be put again by another nested txn or by this level, nor fall in a range deleted at this
 * level; this level's puts must not fall in a range deleted here or by a nested txn.
 */
function checkIntervals(req: TxnLike): void {
  for (const branch of [req.success, req.failure]) collectBranch(branch);
}

function collectBranch(ops: RequestOpLike[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of ops) {
    const del = op.request_delete_range;
    if (del) dels.push(intervalOf(del.key, del.range_end));
  }
  const deleted = (hex: string): boolean => {
    const key = Buffer.from(hex, 'hex');
    return dels.some((interval) => contains(interval, key));
  };
  const puts = new Set<string>();
  for (const op of ops) {
    if (!op.request_txn) continue;
    const then = collectBranch(op.request_txn.success);
    const otherwise = collectBranch(op.request_txn.failure);
    for (const hex of then.puts) {
      if (puts.has(hex) || deleted(hex)) throw etcdError('duplicate-key');
      puts.add(hex);
    }
    for (const hex of otherwise.puts) {
      if ((puts.has(hex) && !then.puts.has(hex)) || deleted(hex)) throw etcdError('duplicate-key');
      puts.add(hex);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    if (!op.request_put) continue;
    const hex = op.request_put.key.toString('hex');
    if (puts.has(hex) || deleted(hex)) throw etcdError('duplicate-key');
    puts.add(hex);
  }
  return { puts, dels };
}
