// A permission's range as the Access page shows and edits it: a key, a prefix, every key from a key on, or a
// range [key, end). The gateway carries keys as base64 bytes; the page shows them as UTF-8 text.
import { bytes, compareBytes, prefixEnd } from '../../auth/permissions';

export type RangeKind = 'key' | 'prefix' | 'from-key' | 'range';

const toB64 = (b: Uint8Array): string => btoa(String.fromCharCode(...b));
const fromB64 = (s: string | undefined): Uint8Array =>
  s ? Uint8Array.from(atob(s), (c) => c.charCodeAt(0)) : new Uint8Array();
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The gateway's key and range_end (base64) for a range typed on the page. */
export function encodeRange(kind: RangeKind, key: string, end: string): { key: string; range_end: string } {
  const k = bytes(key);
  const rangeEnd =
    kind === 'key'
      ? new Uint8Array()
      : kind === 'prefix'
        ? prefixEnd(k)
        : kind === 'from-key'
          ? new Uint8Array([0])
          : bytes(end);
  return { key: toB64(k), range_end: toB64(rangeEnd) };
}

/** How to show a permission's range: its kind and text. */
export function describeRange(
  keyB64: string | undefined,
  endB64: string | undefined,
): {
  kind: RangeKind;
  key: string;
  end: string;
} {
  const key = fromB64(keyB64);
  const end = fromB64(endB64);
  if (end.length === 0) return { kind: 'key', key: text(key), end: '' };
  if (end.length === 1 && end[0] === 0) return { kind: 'from-key', key: text(key), end: '' };
  if (compareBytes(end, prefixEnd(key)) === 0) return { kind: 'prefix', key: text(key), end: '' };
  return { kind: 'range', key: text(key), end: text(end) };
}
