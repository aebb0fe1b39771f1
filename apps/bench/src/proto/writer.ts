// A tiny protobuf encoder: just the wire types the benchmark's requests need (varint and
// length-delimited). One scratch buffer is reused for every message; `finish()` hands back an
// exact-size copy, because gRPC may still hold the message after the call returns.

/** Wire types of the protobuf encoding that this writer emits. */
export const WireType = { Varint: 0, Fixed64: 1, LengthDelimited: 2, Fixed32: 5 } as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

export class ProtoWriter {
  private scratch: Buffer;
  private length = 0;

  constructor(initialCapacity = 1024) {
    this.scratch = Buffer.allocUnsafe(initialCapacity);
  }

  /** Starts a new message, forgetting whatever was written before. */
  reset(): this {
    this.length = 0;
    return this;
  }

  /** Writes a uint64/int64/enum field; zero is skipped like proto3 does for defaults. */
  uint64Field(fieldNumber: number, value: number | bigint): this {
    if (value === 0 || value === 0n) return this;
    this.tag(fieldNumber, WireType.Varint);
    return this.varint(value);
  }

  /** Writes a bool field; false is skipped (the proto3 default). */
  boolField(fieldNumber: number, value: boolean): this {
    if (!value) return this;
    this.tag(fieldNumber, WireType.Varint);
    return this.byte(1);
  }

  /** Writes a bytes (or already-encoded nested message) field; empty is skipped. */
  bytesField(fieldNumber: number, value: Uint8Array): this {
    if (value.length === 0) return this;
    this.tag(fieldNumber, WireType.LengthDelimited);
    this.varint(value.length);
    this.ensure(value.length);
    this.scratch.set(value, this.length);
    this.length += value.length;
    return this;
  }

  /** Writes a nested message field that is always present, even when the nested message is empty. */
  messageField(fieldNumber: number, encoded: Uint8Array): this {
    this.tag(fieldNumber, WireType.LengthDelimited);
    this.varint(encoded.length);
    this.ensure(encoded.length);
    this.scratch.set(encoded, this.length);
    this.length += encoded.length;
    return this;
  }

  /** Returns the message written since the last reset, as a fresh buffer of exactly its size. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.length);
    this.scratch.copy(out, 0, 0, this.length);
    return out;
  }

  private tag(fieldNumber: number, wireType: WireType): void {
    this.varint(fieldNumber * 8 + wireType);
  }

  /**
   * Writes a base-128 varint. Negative numbers are written as their 64-bit two's complement
   * (ten bytes), which is how int64 travels on the wire. Division rather than 32-bit bit operators
   * keeps numbers above 2^31 exact up to 2^53.
   */
  varint(value: number | bigint): this {
    if (typeof value === 'bigint' || value < 0 || !Number.isSafeInteger(value)) {
      return this.bigVarint(toUint64(value));
    }
    this.ensure(10);
    let rest = value;
    while (rest >= 0x80) {
      this.scratch[this.length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.scratch[this.length++] = rest;
    return this;
  }

  private bigVarint(value: bigint): this {
    this.ensure(10);
    let rest = value;
    while (rest >= 0x80n) {
      this.scratch[this.length++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.scratch[this.length++] = Number(rest);
    return this;
  }

  private byte(value: number): this {
    this.ensure(1);
    this.scratch[this.length++] = value;
    return this;
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.scratch.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, this.length + extra));
    this.scratch.copy(grown, 0, 0, this.length);
    this.scratch = grown;
  }
}

function toUint64(value: number | bigint): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`varint value ${value} is not a safe integer; pass a bigint`);
    }
    return BigInt.asUintN(64, BigInt(value));
  }
  if (value < -(2n ** 63n) || value >= 2n ** 64n) {
    throw new RangeError(`varint value ${value} does not fit in 64 bits`);
  }
  return BigInt.asUintN(64, value);
}
