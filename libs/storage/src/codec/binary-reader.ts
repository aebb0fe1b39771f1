// Bounds-checked reads over a byte range. Every malformed input ends in a CodecError, never in a wrong
// value: truncation, varints that overflow 2^53 or are not in their shortest form, trailing bytes.
import { copyBytes } from './byte-slab';
import { CodecError } from './errors';

export interface DecodeOptions {
  /**
   * Copy byte fields (entry data, snapshot data, context) out of the input. Default false: they are views
   * that share memory with the input, which is fastest but keeps the whole input alive. Small copies are
   * views into shared slabs (see byte-slab.ts): respect `byteOffset` if you touch `.buffer`.
   */
  copy?: boolean;
}

export class BinaryReader {
  pos: number;
  readonly end: number;
  private readonly copy: boolean;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
    opts: DecodeOptions = {},
  ) {
    this.pos = start;
    this.end = end;
    this.copy = opts.copy ?? false;
  }

  private bufferView: Buffer | undefined;

  /** The input as a Buffer (same memory), for Buffer#copy. */
  private asBuffer(): Buffer {
    this.bufferView ??= Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    return this.bufferView;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, field: string): void {
    if (this.end - this.pos < n) {
      throw new CodecError(
        `truncated input reading ${field} at byte ${this.pos} (need ${n}, have ${this.end - this.pos})`,
      );
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++];
  }

  u32le(field: string): number {
    this.need(4, field);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  /** Unsigned LEB128 into a safe integer. */
  uvarint(field: string): number {
    const b = this.buf;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) throw new CodecError(`truncated varint ${field} at byte ${this.pos}`);
      const byte = b[this.pos++];
      result += (byte & 0x7f) * mul;
      if (byte < 0x80) {
        if (byte === 0 && i > 0)
          throw new CodecError(`non-canonical varint ${field} at byte ${this.pos - 1}`);
        if (!Number.isSafeInteger(result))
          throw new CodecError(`varint ${field} exceeds 2^53 at byte ${this.pos - 1}`);
        return result;
      }
      mul *= 128;
    }
    throw new CodecError(`varint ${field} longer than 8 bytes at byte ${this.pos}`);
  }

  u64(field: string): bigint {
    const lo = this.u32le(field);
    const hi = this.u32le(field);
    return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** `n` raw bytes (a view, or a copy when the reader was built with `copy`). */
  raw(n: number, field: string): Uint8Array {
    this.need(n, field);
    const start = this.pos;
    this.pos += n;
    if (this.copy) return copyBytes(this.asBuffer(), start, this.pos);
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + start, n);
  }

  /** Length-prefixed byte string. */
  bytes(field: string): Uint8Array {
    return this.raw(this.uvarint(`${field} length`), field);
  }

  /** A count that is about to size a loop: it cannot exceed the bytes left (each item takes at least one). */
  count(field: string, minItemBytes: number): number {
    const n = this.uvarint(field);
    if (n * minItemBytes > this.remaining) throw new CodecError(`${field} ${n} exceeds the remaining input`);
    return n;
  }

  expectEnd(what: string): void {
    if (this.pos !== this.end) throw new CodecError(`${this.end - this.pos} trailing bytes after ${what}`);
  }
}
