// Client-side shapes: keys and values are Buffers, revisions and lease IDs are bigints (never rounded).
import type { KeyValue__Output } from '@cairn/api';

export type Bytes = string | Uint8Array;

export interface KeyValue {
  key: Buffer;
  value: Buffer;
  createRevision: bigint;
  modRevision: bigint;
  version: bigint;
  /** 0n = no lease. */
  lease: bigint;
}

export interface RangeOptions {
  /** Range end (exclusive). Use `prefix: true` for every key starting with `key`. */
  rangeEnd?: Bytes;
  prefix?: boolean;
  /** Read at this revision (0/undefined = latest). */
  revision?: bigint;
  limit?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  /** Serve from the member's local state without a ReadIndex round (may be stale). */
  serializable?: boolean;
}

export interface RangeResult {
  kvs: KeyValue[];
  count: number;
  more: boolean;
  /** Store revision the read was served at. */
  revision: bigint;
}

export interface PutOptions {
  lease?: bigint;
  prevKv?: boolean;
}

export interface PutResult {
  revision: bigint;
  prevKv?: KeyValue;
}

export interface DeleteOptions {
  rangeEnd?: Bytes;
  prefix?: boolean;
  prevKv?: boolean;
}

export interface DeleteResult {
  revision: bigint;
  deleted: number;
  prevKvs: KeyValue[];
}

export interface LeaseGrantResult {
  id: bigint;
  ttl: number;
  revision: bigint;
}

export interface LeaseTimeToLiveResult {
  id: bigint;
  /** Remaining seconds; -1 = the lease does not exist. */
  ttl: number;
  grantedTtl: number;
  keys: Buffer[];
}

export interface WatchEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
  prevKv?: KeyValue;
}

export interface WatchBatch {
  /** Header revision: every change up to it has been delivered to this watcher. */
  revision: bigint;
  events: WatchEvent[];
}

export function toBuffer(bytes: Bytes): Buffer {
  return typeof bytes === 'string'
    ? Buffer.from(bytes)
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

export function fromWireKv(kv: KeyValue__Output): KeyValue {
  return {
    key: kv.key,
    value: kv.value,
    createRevision: BigInt(kv.create_revision),
    modRevision: BigInt(kv.mod_revision),
    version: BigInt(kv.version),
    lease: BigInt(kv.lease),
  };
}
