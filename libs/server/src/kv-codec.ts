// Converts between the wire shapes (@grpc/proto-loader objects: snake_case, int64 as strings, enums as
// numbers) and the MVCC store's own request/result types.
import type {
  Compare__Output,
  DeleteRangeRequest__Output,
  KeyValue as WireKeyValue,
  PutRequest__Output,
  RangeRequest__Output,
  RequestOp__Output,
  ResponseOp,
  TxnRequest__Output,
} from '@cairn/api';
import type {
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeRequest,
  DeleteRangeResult,
  KeyValue,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  RequestOp,
  ResponseOp as MvccResponseOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResult,
} from '@cairn/mvcc';

const SORT_ORDERS: SortOrder[] = ['NONE', 'ASCEND', 'DESCEND'];
const SORT_TARGETS: SortTarget[] = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'];
const COMPARE_RESULTS: CompareResult[] = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'];
const COMPARE_TARGETS: CompareTarget[] = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'];

type Int64 = string | number | null | undefined;

function num(value: Int64): number {
  return value === null || value === undefined ? 0 : Number(value);
}

function big(value: Int64): bigint {
  return value === null || value === undefined ? 0n : BigInt(value);
}

function bytes(value: Buffer | null | undefined): Buffer | undefined {
  return value && value.length > 0 ? value : undefined;
}

export function toRangeRequest(req: RangeRequest__Output): RangeRequest {
  return {
    key: req.key,
    rangeEnd: bytes(req.range_end),
    limit: num(req.limit),
    revision: num(req.revision),
    sortOrder: SORT_ORDERS[req.sort_order as number] ?? 'NONE',
    sortTarget: SORT_TARGETS[req.sort_target as number] ?? 'KEY',
    serializable: req.serializable,
    keysOnly: req.keys_only,
    countOnly: req.count_only,
    minModRevision: num(req.min_mod_revision),
    maxModRevision: num(req.max_mod_revision),
    minCreateRevision: num(req.min_create_revision),
    maxCreateRevision: num(req.max_create_revision),
  };
}

export function toPutRequest(req: PutRequest__Output): PutRequest {
  return {
    key: req.key,
    value: req.value,
    lease: big(req.lease),
    prevKv: req.prev_kv,
    ignoreValue: req.ignore_value,
    ignoreLease: req.ignore_lease,
  };
}

export function toDeleteRangeRequest(req: DeleteRangeRequest__Output): DeleteRangeRequest {
  return { key: req.key, rangeEnd: bytes(req.range_end), prevKv: req.prev_kv };
}

function toCompare(cmp: Compare__Output): Compare {
  return {
    key: cmp.key,
    rangeEnd: bytes(cmp.range_end),
    target: COMPARE_TARGETS[cmp.target as number] ?? 'VERSION',
    result: COMPARE_RESULTS[cmp.result as number] ?? 'EQUAL',
    version: num(cmp.version),
    createRevision: num(cmp.create_revision),
    modRevision: num(cmp.mod_revision),
    value: cmp.value ?? Buffer.alloc(0),
    lease: big(cmp.lease),
  };
}

function toRequestOp(op: RequestOp__Output): RequestOp {
  if (op.request_range) return { range: toRangeRequest(op.request_range) };
  if (op.request_put) return { put: toPutRequest(op.request_put) };
  if (op.request_delete_range) return { deleteRange: toDeleteRangeRequest(op.request_delete_range) };
  if (op.request_txn) return { txn: toTxnRequest(op.request_txn) };
  // An empty RequestOp: etcd treats it as a no-op range of nothing; a zero-length range matches no key.
  return { range: { key: Buffer.alloc(0) } };
}

export function toTxnRequest(req: TxnRequest__Output): TxnRequest {
  return {
    compare: req.compare.map(toCompare),
    success: req.success.map(toRequestOp),
    failure: req.failure.map(toRequestOp),
  };
}

// ---- store requests -> wire (in-process callers propose the same entries a gRPC client would) ----------

function buf(value: Uint8Array | undefined): Buffer {
  if (!value) return Buffer.alloc(0);
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

export function wireRangeRequest(req: RangeRequest): RangeRequest__Output {
  return {
    key: buf(req.key),
    range_end: buf(req.rangeEnd),
    limit: String(req.limit ?? 0),
    revision: String(req.revision ?? 0),
    sort_order: SORT_ORDERS.indexOf(req.sortOrder ?? 'NONE') as RangeRequest__Output['sort_order'],
    sort_target: SORT_TARGETS.indexOf(req.sortTarget ?? 'KEY') as RangeRequest__Output['sort_target'],
    serializable: req.serializable ?? false,
    keys_only: req.keysOnly ?? false,
    count_only: req.countOnly ?? false,
    min_mod_revision: String(req.minModRevision ?? 0),
    max_mod_revision: String(req.maxModRevision ?? 0),
    min_create_revision: String(req.minCreateRevision ?? 0),
    max_create_revision: String(req.maxCreateRevision ?? 0),
  };
}

export function wirePutRequest(req: PutRequest): PutRequest__Output {
  return {
    key: buf(req.key),
    value: buf(req.value),
    lease: String(req.lease ?? 0n),
    prev_kv: req.prevKv ?? false,
    ignore_value: req.ignoreValue ?? false,
    ignore_lease: req.ignoreLease ?? false,
  };
}

export function wireDeleteRangeRequest(req: DeleteRangeRequest): DeleteRangeRequest__Output {
  return { key: buf(req.key), range_end: buf(req.rangeEnd), prev_kv: req.prevKv ?? false };
}

function wireCompare(cmp: Compare): Compare__Output {
  const target = COMPARE_TARGETS.indexOf(cmp.target) as Compare__Output['target'];
  const base = {
    key: buf(cmp.key),
    range_end: buf(cmp.rangeEnd),
    result: COMPARE_RESULTS.indexOf(cmp.result) as Compare__Output['result'],
    target,
  };
  switch (cmp.target) {
    case 'VERSION':
      return { ...base, version: String(cmp.version ?? 0), target_union: 'version' };
    case 'CREATE':
      return { ...base, create_revision: String(cmp.createRevision ?? 0), target_union: 'create_revision' };
    case 'MOD':
      return { ...base, mod_revision: String(cmp.modRevision ?? 0), target_union: 'mod_revision' };
    case 'VALUE':
      return { ...base, value: buf(cmp.value), target_union: 'value' };
    case 'LEASE':
      return { ...base, lease: String(cmp.lease ?? 0n), target_union: 'lease' };
  }
}

function wireRequestOp(op: RequestOp): RequestOp__Output {
  if ('range' in op) return { request_range: wireRangeRequest(op.range), request: 'request_range' };
  if ('put' in op) return { request_put: wirePutRequest(op.put), request: 'request_put' };
  if ('deleteRange' in op) {
    return { request_delete_range: wireDeleteRangeRequest(op.deleteRange), request: 'request_delete_range' };
  }
  return { request_txn: wireTxnRequest(op.txn), request: 'request_txn' };
}

export function wireTxnRequest(req: TxnRequest): TxnRequest__Output {
  return {
    compare: (req.compare ?? []).map(wireCompare),
    success: (req.success ?? []).map(wireRequestOp),
    failure: (req.failure ?? []).map(wireRequestOp),
  };
}

// ---- results -> wire -------------------------------------------------------------------------------

export function wireKv(kv: KeyValue, keysOnly = false): WireKeyValue {
  return {
    key: kv.key,
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    value: keysOnly ? Buffer.alloc(0) : kv.value,
    lease: kv.lease.toString(),
  };
}

export interface HeaderFactory {
  (revision: number): { cluster_id: string; member_id: string; revision: number; raft_term: number };
}

export function wireRange(result: RangeResult, header: HeaderFactory) {
  return {
    header: header(result.revision),
    kvs: result.kvs.map((kv) => wireKv(kv)),
    more: result.more,
    count: result.count,
  };
}

export function wirePut(result: PutResult, header: HeaderFactory) {
  return { header: header(result.revision), prev_kv: result.prevKv ? wireKv(result.prevKv) : null };
}

export function wireDeleteRange(result: DeleteRangeResult, header: HeaderFactory) {
  return {
    header: header(result.revision),
    deleted: result.deleted,
    prev_kvs: result.prevKvs.map((kv) => wireKv(kv)),
  };
}

export function wireTxn(result: TxnResult, header: HeaderFactory) {
  return {
    header: header(result.revision),
    succeeded: result.succeeded,
    responses: result.responses.map((op) => wireResponseOp(op)),
  };
}

/** Responses inside a txn carry a header with only the revision, as etcd's do. */
const innerHeader = (revision: number) => ({ revision });

function wireResponseOp(op: MvccResponseOp): ResponseOp {
  if ('range' in op) {
    const r = op.range;
    return {
      response_range: {
        header: innerHeader(r.revision),
        kvs: r.kvs.map((kv) => wireKv(kv)),
        more: r.more,
        count: r.count,
      },
    };
  }
  if ('put' in op) {
    return {
      response_put: {
        header: innerHeader(op.put.revision),
        prev_kv: op.put.prevKv ? wireKv(op.put.prevKv) : null,
      },
    };
  }
  if ('deleteRange' in op) {
    const d = op.deleteRange;
    return {
      response_delete_range: {
        header: innerHeader(d.revision),
        deleted: d.deleted,
        prev_kvs: d.prevKvs.map((kv) => wireKv(kv)),
      },
    };
  }
  const t = op.txn;
  return {
    response_txn: {
      header: innerHeader(t.revision),
      succeeded: t.succeeded,
      responses: t.responses.map(wireResponseOp),
    },
  };
}
