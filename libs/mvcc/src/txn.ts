// Mini-transactions (etcd's Txn): evaluate every compare of the chosen path first, check the chosen
// requests, then run them in one write transaction (one revision) or as reads only.
import { MvccError } from './errors';
import { toKeyRange } from './key-range';
import type { KeyValue } from './key-value';
import { applyDeleteRange, applyPut, checkPut, validatePutRequest } from './requests';
import type {
  Compare,
  RangeRequest,
  RangeResult,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResult,
} from './types';

/** What a txn runs against: a write txn or a read view (`range` sees the txn's own writes). */
export interface TxnView {
  readonly viewRevision: number;
  readonly compactRevision: number;
  range(req: RangeRequest): RangeResult | Promise<RangeResult>;
}

export const DEFAULT_MAX_TXN_OPS = 128;

/**
 * Edge validation of a txn (etcd's checkTxnRequest + checkIntervals): op counts, put flags, and no
 * key written twice (or put inside a deleted range) on any single execution path.
 */
export function validateTxnRequest(req: TxnRequest, maxTxnOps: number = DEFAULT_MAX_TXN_OPS): void {
  const compare = req.compare ?? [];
  const success = req.success ?? [];
  const failure = req.failure ?? [];
  if (compare.length > maxTxnOps || success.length > maxTxnOps || failure.length > maxTxnOps) {
    throw new MvccError('too-many-ops');
  }
  for (const op of [...success, ...failure]) {
    if ('put' in op) validatePutRequest(op.put);
    if ('txn' in op) validateTxnRequest(op.txn, maxTxnOps);
  }
  checkWrites(success);
  checkWrites(failure);
}

interface Writes {
  puts: Set<string>;
  deletes: Array<ReturnType<typeof toKeyRange>>;
}

function deletedBy(deletes: Writes['deletes'], id: string): boolean {
  return deletes.some((range) =>
    range.kind === 'single'
      ? range.id === id
      : id >= range.start && (range.end === undefined || id < range.end),
  );
}

function checkWrites(ops: RequestOp[]): Writes {
  const deletes: Writes['deletes'] = [];
  for (const op of ops)
    if ('deleteRange' in op) deletes.push(toKeyRange(op.deleteRange.key, op.deleteRange.rangeEnd));
  const puts = new Set<string>();
  for (const op of ops) {
    if (!('txn' in op)) continue;
    const then = checkWrites(op.txn.success ?? []);
    const otherwise = checkWrites(op.txn.failure ?? []);
    for (const id of then.puts) {
      if (puts.has(id) || deletedBy(deletes, id)) throw new MvccError('duplicate-key');
      puts.add(id);
    }
    for (const id of otherwise.puts) {
      // The same key in both branches of one nested txn is fine: only one branch runs.
      if ((puts.has(id) && !then.puts.has(id)) || deletedBy(deletes, id))
        throw new MvccError('duplicate-key');
      puts.add(id);
    }
    deletes.push(...then.deletes, ...otherwise.deletes);
  }
  for (const op of ops) {
    if (!('put' in op)) continue;
    const id = toKeyRange(op.put.key, undefined);
    if (id.kind !== 'single') continue;
    if (puts.has(id.id) || deletedBy(deletes, id.id)) throw new MvccError('duplicate-key');
    puts.add(id.id);
  }
  return { puts, deletes };
}

/** True when the ops (any branch, any depth) contain a put or delete. */
export function hasWrites(req: TxnRequest): boolean {
  for (const op of [...(req.success ?? []), ...(req.failure ?? [])]) {
    if ('put' in op || 'deleteRange' in op) return true;
    if ('txn' in op && hasWrites(op.txn)) return true;
  }
  return false;
}

/** Which branch every txn on the executed path takes, depth first (etcd's compareToPath). */
export function compareToPath(view: TxnView, req: TxnRequest): boolean[] {
  const path = [applyCompares(view, req.compare ?? [])];
  for (const op of path[0] ? (req.success ?? []) : (req.failure ?? [])) {
    if ('txn' in op) path.push(...compareToPath(view, op.txn));
  }
  return path;
}

function applyCompares(view: TxnView, compares: Compare[]): boolean {
  return compares.every((compare) => applyCompare(view, compare));
}

function applyCompare(view: TxnView, compare: Compare): boolean {
  const result = view.range({ key: compare.key, rangeEnd: compare.rangeEnd });
  // Reads at the view revision are in memory; a Promise here would be a bug.
  if (result instanceof Promise) throw new Error('mvcc: compare read history');
  if (result.kvs.length === 0) {
    // A missing key has no value to compare (etcd: always false); other targets compare as 0.
    if (compare.target === 'VALUE') return false;
    return compareKv(compare, undefined);
  }
  return result.kvs.every((kv) => compareKv(compare, kv));
}

function sign(a: number | bigint, b: number | bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareKv(compare: Compare, kv: KeyValue | undefined): boolean {
  let result: number;
  switch (compare.target) {
    case 'VALUE':
      result = Buffer.compare(kv?.value ?? Buffer.alloc(0), compare.value ?? Buffer.alloc(0));
      break;
    case 'CREATE':
      result = sign(kv?.createRevision ?? 0, compare.createRevision ?? 0);
      break;
    case 'MOD':
      result = sign(kv?.modRevision ?? 0, compare.modRevision ?? 0);
      break;
    case 'VERSION':
      result = sign(kv?.version ?? 0, compare.version ?? 0);
      break;
    case 'LEASE':
      result = sign(kv?.lease ?? 0n, compare.lease ?? 0n);
      break;
    default:
      return true;
  }
  switch (compare.result) {
    case 'EQUAL':
      return result === 0;
    case 'NOT_EQUAL':
      return result !== 0;
    case 'GREATER':
      return result > 0;
    case 'LESS':
      return result < 0;
    default:
      return true;
  }
}

/** Consume this txn's slice of `path`; returns how many nested txns it covered. */
function chosenOps(req: TxnRequest, path: boolean[], at: number): RequestOp[] {
  return path[at] ? (req.success ?? []) : (req.failure ?? []);
}

/**
 * Checks on the chosen path that must pass before anything is written (etcd's checkTxn): range
 * revisions not future/compacted, put flags that need the key, leases that must exist.
 */
export function checkTxn(
  view: TxnView,
  req: TxnRequest,
  path: boolean[],
  leaseExists: (lease: bigint) => boolean,
  at = 0,
): number {
  let nested = 0;
  for (const op of chosenOps(req, path, at)) {
    if ('range' in op) {
      const revision = op.range.revision ?? 0;
      if (revision > view.viewRevision) throw new MvccError('future-revision');
      if (revision > 0 && revision < view.compactRevision) throw new MvccError('compacted');
    } else if ('put' in op) {
      checkPut(view, op.put, leaseExists);
    } else if ('txn' in op) {
      const inner = checkTxn(view, op.txn, path, leaseExists, at + 1 + nested);
      nested += inner + 1;
    }
  }
  return nested;
}

/** Pending history reads to await before a TxnResult is complete. */
export type PendingReads = Array<Promise<void>>;

/** Run the chosen ops. Ranges go through `range`, writes through `write` (absent for read-only txns). */
export function executeTxn(
  req: TxnRequest,
  path: boolean[],
  at: number,
  range: (req: RangeRequest) => RangeResult | Promise<RangeResult>,
  write: Parameters<typeof applyPut>[0] | undefined,
  pending: PendingReads,
): { result: TxnResult; nested: number } {
  const responses: ResponseOp[] = [];
  let nested = 0;
  for (const op of chosenOps(req, path, at)) {
    if ('range' in op) {
      const read = range(op.range);
      if (read instanceof Promise) {
        const slot: { range: RangeResult } = { range: undefined as unknown as RangeResult };
        responses.push(slot);
        pending.push(read.then((value) => void (slot.range = value)));
      } else {
        responses.push({ range: read });
      }
    } else if ('put' in op) {
      if (!write) throw new Error('mvcc: write in a read-only txn');
      responses.push({ put: applyPut(write, op.put) });
    } else if ('deleteRange' in op) {
      if (!write) throw new Error('mvcc: write in a read-only txn');
      responses.push({ deleteRange: applyDeleteRange(write, op.deleteRange) });
    } else if ('txn' in op) {
      const inner = executeTxn(op.txn, path, at + 1 + nested, range, write, pending);
      responses.push({ txn: inner.result });
      nested += inner.nested + 1;
    }
  }
  return { result: { succeeded: path[at], responses, revision: 0 }, nested };
}
