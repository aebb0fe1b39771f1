// Writes into a buffer whose exact size was computed beforehand (the *Size functions), so an encoding is
// one allocation and one pass. Validation happens in the size pass; the writer trusts its input and only
// checks at the end that the size pass and the write pass agree.
import { CodecError } from './errors';

const TWO_32 = 0x1_0000_0000;
const MAX_U64 = 0xffff_ffff_ffff_ffffn;

/** Bytes an unsigned LEB128 varint of `n` takes. `n` must be a safe non-negative integer. */
export function uvarintSize(n: number, field: string): number {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new CodecError(`${field} must be a safe non-negative integer, got ${n}`);
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x20_0000) return 3;
  if (n < 0x1000_0000) return 4;
  if (n < 2 ** 35) return 5;
  if (n < 2 ** 42) return 6;
  if (n < 2 ** 49) return 7;
  return 8;
}

/** Size of a length-prefixed byte string. */
export function bytesSize(b: Uint8Array, field: string): number {
  return uvarintSize(b.length, field) + b.length;
}

/** Checks that `v` fits a uint64; its encoding is always 8 bytes. */
export function checkU64(v: bigint, field: string): 8 {
  if (typeof v !== 'bigint' || v < 0n || v > MAX_U64)
    throw new CodecError(`${field} must be a uint64 bigint, got ${String(v)}`);
  return 8;
}

export class BinaryWriter {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
  ) {
    this.pos = start;
  }

  /** A writer over a fresh, uninitialised buffer of exactly `size` bytes (every byte gets written). */
  static alloc(size: number): BinaryWriter {
    return new BinaryWriter(Buffer.allocUnsafe(size));
  }

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  u32le(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = v;
    b[p + 1] = v >>> 8;
    b[p + 2] = v >>> 16;
    b[p + 3] = v >>> 24;
    this.pos = p + 4;
  }

  /** Unsigned LEB128; handles the full safe-integer range (bit operators alone stop at 2^32). */
  uvarint(n: number): void {
    const b = this.buf;
    let p = this.pos;
    while (n > 0x7f) {
      b[p++] = (n & 0x7f) | 0x80;
      n = n >= TWO_32 ? Math.floor(n / 128) : n >>> 7;
    }
    b[p++] = n;
    this.pos = p;
  }

  /** Fixed 8 bytes, little-endian. */
  u64(v: bigint): void {
    this.u32le(Number(v & 0xffff_ffffn));
    this.u32le(Number(v >> 32n));
  }

  raw(src: Uint8Array): void {
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /** Length-prefixed byte string. */
  bytes(src: Uint8Array): void {
    this.uvarint(src.length);
    this.raw(src);
  }

  /** The finished buffer; fails loudly if the size pass and the write pass disagreed. */
  finish(): Uint8Array {
    if (this.pos !== this.buf.length) {
      throw new CodecError(`internal: wrote ${this.pos} bytes into a buffer sized ${this.buf.length}`);
    }
    return this.buf;
  }
}
