// Thin typed helpers over the in-process etcd APIs (@cairn/server's KvApi/LeaseApi take and return etcd's
// wire shapes: every field present, int64 as strings or numbers, bytes as Buffers).
import type {
  Compare__Output,
  DeleteRangeRequest__Output,
  PutRequest__Output,
  RangeRequest__Output,
  RequestOp__Output,
} from '@cairn/api';
import type { EtcdApis } from '@cairn/server';

export interface WireKv {
  key: Buffer;
  value: Buffer;
  create_revision: number | string;
  mod_revision: number | string;
  version: number | string;
  lease: string | number;
}

interface WireRange {
  header: { revision: number | string };
  kvs: WireKv[];
  count: number | string;
}

interface WireTxn {
  header: { revision: number | string };
  succeeded: boolean;
  responses: { response_range?: WireRange | null }[];
}

export function rangeRequest(key: Buffer, rangeEnd?: Buffer, serializable = false): RangeRequest__Output {
  return {
    key,
    range_end: rangeEnd ?? Buffer.alloc(0),
    limit: '0',
    revision: '0',
    sort_order: 0,
    sort_target: 0,
    serializable,
    keys_only: false,
    count_only: false,
    min_mod_revision: '0',
    max_mod_revision: '0',
    min_create_revision: '0',
    max_create_revision: '0',
  };
}

export function putOp(key: string, value: string, lease: string): RequestOp__Output {
  const put: PutRequest__Output = {
    key: Buffer.from(key),
    value: Buffer.from(value),
    lease,
    prev_kv: false,
    ignore_value: false,
    ignore_lease: false,
  };
  return { request_put: put, request: 'request_put' };
}

export function deleteOp(key: string): RequestOp__Output {
  const del: DeleteRangeRequest__Output = {
    key: Buffer.from(key),
    range_end: Buffer.alloc(0),
    prev_kv: false,
  };
  return { request_delete_range: del, request: 'request_delete_range' };
}

/** Compare mod_revision of `key` (0 = the key does not exist). */
export function modRevisionIs(key: string, revision: number): Compare__Output {
  return {
    result: 0, // EQUAL
    target: 2, // MOD
    key: Buffer.from(key),
    mod_revision: String(revision),
    range_end: Buffer.alloc(0),
    target_union: 'mod_revision',
  };
}

/** Range end of every key under `prefix`. */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

export class Kv {
  constructor(private readonly apis: EtcdApis) {}

  async get(key: string, serializable = false): Promise<{ kv?: WireKv; revision: number }> {
    const res = (await this.apis.kv.range(
      rangeRequest(Buffer.from(key), undefined, serializable),
    )) as WireRange;
    return { kv: res.kvs[0], revision: Number(res.header.revision) };
  }

  async prefix(prefix: string, serializable = false): Promise<{ kvs: WireKv[]; revision: number }> {
    const res = (await this.apis.kv.range(
      rangeRequest(Buffer.from(prefix), prefixEnd(prefix), serializable),
    )) as WireRange;
    return { kvs: res.kvs, revision: Number(res.header.revision) };
  }

  async txn(
    compare: Compare__Output[],
    success: RequestOp__Output[],
  ): Promise<{ succeeded: boolean; revision: number }> {
    const res = (await this.apis.kv.txn({ compare, success, failure: [] })) as WireTxn;
    return { succeeded: res.succeeded, revision: Number(res.header.revision) };
  }

  async grant(ttl: number): Promise<string> {
    const res = (await this.apis.lease.grant({ ID: '0', TTL: String(ttl) })) as { ID: string | number };
    return String(res.ID);
  }

  async revoke(id: string): Promise<void> {
    try {
      await this.apis.lease.revoke({ ID: id });
    } catch {
      // already gone
    }
  }

  /** Remaining TTL after one keep-alive; 0 = the lease does not exist. */
  async keepAlive(id: string): Promise<number> {
    const res = (await this.apis.lease.keepAlive(id)) as { TTL: number | string };
    return Number(res.TTL);
  }
}
