// A small typed view of the in-process etcd API (createEtcdApis) for the config center: ranges, guarded
// txns and watches, with revisions as numbers (safe below 2^53, as mvcc keeps them).
import type { EtcdApis, CairnNode } from '@cairn/server';

export interface Kv {
  key: Buffer;
  value: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: string;
}

/** What a watch delivers (the subset of @cairn/mvcc's WatchResponse the config center reads). */
export interface StoreWatchResponse {
  revision: number;
  events: { type: 'put' | 'delete'; kv: { key: Buffer; value: Buffer; modRevision: number } }[];
  compactRevision?: number;
}

export interface RangeResult {
  revision: number;
  kvs: Kv[];
}

interface WireKv {
  key: Buffer;
  value: Buffer;
  create_revision: number | string;
  mod_revision: number | string;
  version: number | string;
  lease: string;
}

interface WireRange {
  header: { revision: number | string };
  kvs: WireKv[];
}

interface WireTxn {
  header: { revision: number | string };
  succeeded: boolean;
  responses: { response_range?: WireRange | null }[];
}

export type Cmp = { key: string; modRevision: number };
export type Op =
  | { put: string; value: string | Buffer; lease?: string }
  | { del: string; prefix?: boolean }
  | { get: string; prefix?: boolean };

function fromWire(kv: WireKv): Kv {
  return {
    key: kv.key,
    value: kv.value,
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
    lease: String(kv.lease),
  };
}

/** The end of the prefix range starting at `key` (etcd's GetPrefixRangeEnd). */
export function prefixEnd(key: Buffer): Buffer {
  const end = Buffer.from(key);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

function rangeRequest(key: Buffer, rangeEnd: Buffer, opts: { revision?: number; keysOnly?: boolean }) {
  return {
    key,
    range_end: rangeEnd,
    limit: '0',
    revision: String(opts.revision ?? 0),
    sort_order: 0,
    sort_target: 0,
    serializable: false,
    keys_only: opts.keysOnly ?? false,
    count_only: false,
    min_mod_revision: '0',
    max_mod_revision: '0',
    min_create_revision: '0',
    max_create_revision: '0',
  };
}

function opRequest(op: Op) {
  if ('put' in op) {
    return {
      request: 'request_put',
      request_put: {
        key: Buffer.from(op.put),
        value: Buffer.isBuffer(op.value) ? op.value : Buffer.from(op.value),
        lease: op.lease ?? '0',
        prev_kv: false,
        ignore_value: false,
        ignore_lease: false,
      },
    };
  }
  if ('del' in op) {
    const key = Buffer.from(op.del);
    return {
      request: 'request_delete_range',
      request_delete_range: { key, range_end: op.prefix ? prefixEnd(key) : Buffer.alloc(0), prev_kv: false },
    };
  }
  const key = Buffer.from(op.get);
  return {
    request: 'request_range',
    request_range: rangeRequest(key, op.prefix ? prefixEnd(key) : Buffer.alloc(0), {}),
  };
}

export class ConfigKv {
  constructor(
    readonly apis: EtcdApis,
    readonly node: CairnNode,
  ) {}

  async get(key: string, revision?: number): Promise<Kv | undefined> {
    const res = await this.range(Buffer.from(key), Buffer.alloc(0), { revision });
    return res.kvs[0];
  }

  async prefix(prefix: string, opts: { revision?: number; keysOnly?: boolean } = {}): Promise<RangeResult> {
    const key = Buffer.from(prefix);
    return this.range(key, prefixEnd(key), opts);
  }

  async range(
    key: Buffer,
    rangeEnd: Buffer,
    opts: { revision?: number; keysOnly?: boolean } = {},
  ): Promise<RangeResult> {
    const res = (await this.apis.kv.range(rangeRequest(key, rangeEnd, opts) as never)) as WireRange;
    return { revision: Number(res.header.revision), kvs: res.kvs.map(fromWire) };
  }

  async put(key: string, value: string | Buffer, lease = '0'): Promise<number> {
    const res = (await this.apis.kv.put({
      key: Buffer.from(key),
      value: Buffer.isBuffer(value) ? value : Buffer.from(value),
      lease,
      prev_kv: false,
      ignore_value: false,
      ignore_lease: false,
    } as never)) as { header: { revision: number | string } };
    return Number(res.header.revision);
  }

  async delete(key: string, prefix = false): Promise<number> {
    const k = Buffer.from(key);
    const res = (await this.apis.kv.deleteRange({
      key: k,
      range_end: prefix ? prefixEnd(k) : Buffer.alloc(0),
      prev_kv: false,
    } as never)) as { header: { revision: number | string } };
    return Number(res.header.revision);
  }

  /**
   * One txn: if every key still has the given mod_revision (0 = absent), run `success`, else read
   * `failure`. Returns the txn revision, whether it succeeded and the ranges the failure branch read.
   */
  async txn(
    compare: Cmp[],
    success: Op[],
    failure: Op[] = [],
  ): Promise<{ succeeded: boolean; revision: number; ranges: Kv[][] }> {
    const res = (await this.apis.kv.txn({
      compare: compare.map((c) => ({
        result: 0, // EQUAL
        target: 2, // MOD
        key: Buffer.from(c.key),
        mod_revision: String(c.modRevision),
        range_end: Buffer.alloc(0),
        target_union: 'mod_revision',
      })),
      success: success.map(opRequest),
      failure: failure.map(opRequest),
    } as never)) as WireTxn;
    return {
      succeeded: res.succeeded,
      revision: Number(res.header.revision),
      ranges: res.responses.map((r) => (r.response_range ? r.response_range.kvs.map(fromWire) : [])),
    };
  }

  get currentRevision(): number {
    return this.node.kv.currentRevision;
  }

  get compactRevision(): number {
    return this.node.kv.compactRevision;
  }

  /** A watch on [key, rangeEnd) from startRevision (in-process, etcd semantics); returns a cancel function. */
  watch(
    key: Buffer,
    rangeEnd: Buffer,
    startRevision: number,
    sink: (res: StoreWatchResponse) => void,
  ): () => void {
    const id = this.node.watchable.watch({ key, rangeEnd, startRevision }, (res) => {
      sink(res);
      return true;
    });
    return () => {
      this.node.watchable.cancel(id);
    };
  }
}
