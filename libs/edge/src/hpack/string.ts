// RFC 7541 §5.2 string literals. Strings are kept as latin1 so one char is one octet, which is what the
// dynamic table's size accounting counts.
import { HpackError } from './errors';
import { huffmanDecode } from './huffman';
import { decodeInteger, encodeInteger } from './integer';

export interface DecodedString {
  value: string;
  /** Offset just past the string. */
  next: number;
}

export function decodeString(buf: Buffer, pos: number): DecodedString {
  if (pos >= buf.length) throw new HpackError('truncated string');
  const huffman = (buf[pos] & 0x80) !== 0;
  const { value: length, next: start } = decodeInteger(buf, pos, 7);
  const end = start + length;
  if (end > buf.length) throw new HpackError('truncated string');
  const value = huffman ? huffmanDecode(buf.subarray(start, end)) : buf.toString('latin1', start, end);
  return { value, next: end };
}

/** Encodes `value` as a plain (not Huffman-coded) string literal. */
export function encodeRawString(value: string): Buffer {
  return Buffer.concat([encodeInteger(value.length, 7, 0), Buffer.from(value, 'latin1')]);
}
