// RFC 7541 §5.1 prefix integers.
import { HpackError } from './errors';

export interface DecodedInteger {
  value: number;
  /** Offset just past the integer. */
  next: number;
}

// Larger values never occur in sane header blocks and would lose precision in a float.
const MAX_VALUE = 2 ** 32;

/** Decodes an integer whose prefix is the low `prefixBits` bits of `buf[pos]`. */
export function decodeInteger(buf: Buffer, pos: number, prefixBits: number): DecodedInteger {
  if (pos >= buf.length) throw new HpackError('truncated integer');
  const prefixMax = (1 << prefixBits) - 1;
  let value = buf[pos] & prefixMax;
  pos++;
  if (value < prefixMax) return { value, next: pos };
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new HpackError('truncated integer');
    const byte = buf[pos++];
    value += (byte & 0x7f) * 2 ** shift;
    if (value > MAX_VALUE) throw new HpackError('integer too large');
    if ((byte & 0x80) === 0) return { value, next: pos };
    shift += 7;
  }
}

/** Encodes `value` with a `prefixBits`-bit prefix; `firstByteFlags` fills the bits above the prefix. */
export function encodeInteger(value: number, prefixBits: number, firstByteFlags: number): Buffer {
  const prefixMax = (1 << prefixBits) - 1;
  if (value < prefixMax) return Buffer.from([firstByteFlags | value]);
  const bytes = [firstByteFlags | prefixMax];
  let rest = value - prefixMax;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}
