// Request and result shapes of the KV API: our own plain types mirroring etcd's etcdserverpb messages.
// Enum values are the proto enum names, as @grpc/proto-loader hands them over with `enums: String`.
// Range rules for every `key`/`rangeEnd` pair: rangeEnd empty or absent = the single key; rangeEnd
// "\0" = every key >= key; otherwise the half-open range [key, rangeEnd).
import type { KeyValue } from './key-value';

export type SortOrder = 'NONE' | 'ASCEND' | 'DESCEND';
export type SortTarget = 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';

export interface RangeRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  /** At most this many kvs (0 = no limit); `more` tells whether there were more. */
  limit?: number;
  /** Read at this revision; <= 0 reads the latest. */
  revision?: number;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  /** Only meaningful to the server (serializable vs linearizable); the store ignores it. */
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
}

export interface RangeResult {
  kvs: KeyValue[];
  more: boolean;
  /** Keys in the range at the read revision, before limit and revision filters (as etcd). */
  count: number;
  /** Header revision: the store revision the read ran at (the current one, as etcd). */
  revision: number;
}

export interface PutRequest {
  key: Uint8Array;
  value?: Uint8Array;
  /** Lease ID to attach (0n = none). The caller checks that it exists (see KvStore.setLeaseChecker). */
  lease?: bigint;
  prevKv?: boolean;
  /** Keep the current value; the key must exist and `value` must be empty. */
  ignoreValue?: boolean;
  /** Keep the current lease; the key must exist and `lease` must be 0. */
  ignoreLease?: boolean;
}

export interface PutResult {
  revision: number;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  prevKv?: boolean;
}

export interface DeleteRangeResult {
  revision: number;
  deleted: number;
  /** The deleted kvs when prevKv was asked for, else empty. */
  prevKvs: KeyValue[];
}

export type CompareTarget = 'VERSION' | 'CREATE' | 'MOD' | 'VALUE' | 'LEASE';
export type CompareResult = 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';

/** One txn guard. The operand read is the one named by `target`; a missing operand counts as 0/empty. */
export interface Compare {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  target: CompareTarget;
  result: CompareResult;
  version?: number;
  createRevision?: number;
  modRevision?: number;
  value?: Uint8Array;
  lease?: bigint;
}

export type RequestOp =
  { range: RangeRequest } | { put: PutRequest } | { deleteRange: DeleteRangeRequest } | { txn: TxnRequest };

export type ResponseOp =
  { range: RangeResult } | { put: PutResult } | { deleteRange: DeleteRangeResult } | { txn: TxnResult };

export interface TxnRequest {
  compare?: Compare[];
  success?: RequestOp[];
  failure?: RequestOp[];
}

export interface TxnResult {
  succeeded: boolean;
  responses: ResponseOp[];
  /**
   * Top level: the store revision after the txn (bumped only if it changed something). Nested txns
   * carry 0, as etcd leaves their header empty.
   */
  revision: number;
}

/** One change made by a write transaction, with the key's previous version for lease bookkeeping. */
export interface ChangeEvent {
  type: 'put' | 'delete';
  /** Put: the new version. Delete: only `key` and `modRevision` (the deleting revision) are set. */
  kv: KeyValue;
  /** The version this change replaced or deleted (absent when a put created the key). */
  prevKv?: KeyValue;
  /** Its sub-revision (its place within the revision); set by the store on the events it makes. */
  sub?: number;
  /** The key's latin1 id (the key index's), so the watch fan-out matches it without converting the key again. */
  keyId?: string;
}

/** Everything a write transaction changed; all events share `revision`. */
export interface WriteResult {
  revision: number;
  events: ChangeEvent[];
}
