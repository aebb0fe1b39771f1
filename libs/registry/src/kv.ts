// Thin typed helpers for the registry's requests to the EtcdPort (the port's own request types; keys and
// values are UTF-8 strings at this edge only).
import { prefixEnd } from '@cairn/api';
import type { Compare, RequestOp } from '@cairn/server';

/** A put of `value` at `key`, attached to `lease` (0n = none). */
export function putOp(key: string, value: string, lease: bigint): RequestOp {
  return { put: { key: Buffer.from(key), value: Buffer.from(value), lease } };
}

export function deleteOp(key: string): RequestOp {
  return { deleteRange: { key: Buffer.from(key) } };
}

/** Compare mod_revision of `key` (0 = the key does not exist). */
export function modRevisionIs(key: string, revision: number): Compare {
  return { key: Buffer.from(key), target: 'MOD', result: 'EQUAL', modRevision: revision };
}

/** The key range of every key under `prefix`. */
export function prefixRange(prefix: string): { key: Buffer; rangeEnd: Buffer } {
  return { key: Buffer.from(prefix), rangeEnd: prefixEnd(prefix) };
}
