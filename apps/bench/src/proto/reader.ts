// A tiny protobuf decoder: walks the fields of one message and reads only what the caller asks
// for; everything else is skipped without being decoded.

import { WireType } from './writer';

export class ProtoReader {
  private position: number;
  private readonly end: number;

  constructor(
    private readonly buffer: Uint8Array,
    start = 0,
    end = buffer.length,
  ) {
    this.position = start;
    this.end = end;
  }

  /** True while there are fields left to read. */
  hasMore(): boolean {
    return this.position < this.end;
  }

  /** Reads the next field's tag; returns fieldNumber * 8 + wireType (compare with `tagOf`). */
  tag(): number {
    return this.varint();
  }

  /** Reads a varint as a number; throws when it does not fit a safe integer (use `varintBig`). */
  varint(): number {
    let result = 0;
    let multiplier = 1;
    for (;;) {
      if (this.position >= this.end) throw new RangeError('truncated varint');
      const byte = this.buffer[this.position++];
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) break;
      multiplier *= 0x80;
      if (multiplier > 2 ** 63) throw new RangeError('varint longer than 10 bytes');
    }
    if (!Number.isSafeInteger(result)) {
      throw new RangeError(`varint ${result} is above 2^53; read it with varintBig()`);
    }
    return result;
  }

  /** Reads a varint as an unsigned 64-bit bigint. */
  varintBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.position >= this.end) throw new RangeError('truncated varint');
      const byte = this.buffer[this.position++];
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) break;
      shift += 7n;
      if (shift > 63n) throw new RangeError('varint longer than 10 bytes');
    }
    return BigInt.asUintN(64, result);
  }

  /** Reads an int64 field's varint as a signed bigint. */
  int64Big(): bigint {
    return BigInt.asIntN(64, this.varintBig());
  }

  bool(): boolean {
    return this.varint() !== 0;
  }

  /** Reads a length-delimited field as a view into the message (no copy). */
  bytes(): Uint8Array {
    const length = this.varint();
    const start = this.position;
    if (start + length > this.end) throw new RangeError('length-delimited field runs past the message');
    this.position += length;
    return this.buffer.subarray(start, start + length);
  }

  /** Reads a nested message field and returns a reader over just that message. */
  nested(): ProtoReader {
    const length = this.varint();
    const start = this.position;
    if (start + length > this.end) throw new RangeError('nested message runs past the message');
    this.position += length;
    return new ProtoReader(this.buffer, start, start + length);
  }

  string(): string {
    return Buffer.from(this.bytes()).toString('utf8');
  }

  /** Skips a field whose tag has just been read. */
  skip(tag: number): void {
    const wireType = tag & 7;
    switch (wireType) {
      case WireType.Varint:
        this.varintBig();
        return;
      case WireType.Fixed64:
        this.advance(8);
        return;
      case WireType.LengthDelimited:
        this.advance(this.varint());
        return;
      case WireType.Fixed32:
        this.advance(4);
        return;
      default:
        throw new RangeError(`unsupported wire type ${wireType} (tag ${tag})`);
    }
  }

  private advance(bytes: number): void {
    if (this.position + bytes > this.end) throw new RangeError('field runs past the message');
    this.position += bytes;
  }
}

/** The tag value that `ProtoReader.tag()` returns for a field. */
export function tagOf(fieldNumber: number, wireType: WireType): number {
  return fieldNumber * 8 + wireType;
}
