// etcd's key range rules, in latin1-id space (see sorted-key-map.ts).
import { keyId } from './sorted-key-map';

export type KeyRange =
  | { kind: 'single'; id: string }
  /** start <= key < end; end undefined = no upper bound ("\0" rangeEnd). */
  | { kind: 'range'; start: string; end: string | undefined };

export function toKeyRange(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeyRange {
  if (!rangeEnd || rangeEnd.length === 0) return { kind: 'single', id: keyId(key) };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { kind: 'range', start: keyId(key), end: undefined };
  return { kind: 'range', start: keyId(key), end: keyId(rangeEnd) };
}

export function rangeContains(range: KeyRange, id: string): boolean {
  if (range.kind === 'single') return range.id === id;
  return id >= range.start && (range.end === undefined || id < range.end);
}
