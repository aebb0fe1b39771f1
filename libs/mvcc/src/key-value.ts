// KeyValue records, stored as etcd's mvccpb.KeyValue protobuf (fields 1..6, zero values omitted) so
// stored bytes, snapshots and hashKV line up with etcd's.

/**
 * One version of a key. Shared with the store's memory: treat every KeyValue handed out as read-only.
 * Revisions and versions are numbers (see revision.ts); `lease` is a bigint lease ID (0n = none).
 */
export interface KeyValue {
  readonly key: Buffer;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly value: Buffer;
  readonly lease: bigint;
}

const EMPTY: Buffer = Buffer.alloc(0);

function varintLength(value: bigint): number {
  let length = 1;
  let rest = BigInt.asUintN(64, value) >> 7n;
  while (rest > 0n) {
    length++;
    rest >>= 7n;
  }
  return length;
}

function numberVarintLength(value: number): number {
  let length = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

function writeNumberVarint(out: Buffer, offset: number, value: number): number {
  while (value >= 128) {
    out[offset++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  out[offset++] = value;
  return offset;
}

function writeBigVarint(out: Buffer, offset: number, value: bigint): number {
  let rest = BigInt.asUintN(64, value);
  while (rest >= 128n) {
    out[offset++] = Number(rest & 0x7fn) | 0x80;
    rest >>= 7n;
  }
  out[offset++] = Number(rest);
  return offset;
}

export function encodeKeyValue(kv: KeyValue): Buffer {
  let size = 0;
  if (kv.key.length > 0) size += 1 + numberVarintLength(kv.key.length) + kv.key.length;
  if (kv.createRevision !== 0) size += 1 + numberVarintLength(kv.createRevision);
  if (kv.modRevision !== 0) size += 1 + numberVarintLength(kv.modRevision);
  if (kv.version !== 0) size += 1 + numberVarintLength(kv.version);
  if (kv.value.length > 0) size += 1 + numberVarintLength(kv.value.length) + kv.value.length;
  if (kv.lease !== 0n) size += 1 + varintLength(kv.lease);
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  if (kv.key.length > 0) {
    out[offset++] = 0x0a;
    offset = writeNumberVarint(out, offset, kv.key.length);
    offset += kv.key.copy(out, offset);
  }
  if (kv.createRevision !== 0) {
    out[offset++] = 0x10;
    offset = writeNumberVarint(out, offset, kv.createRevision);
  }
  if (kv.modRevision !== 0) {
    out[offset++] = 0x18;
    offset = writeNumberVarint(out, offset, kv.modRevision);
  }
  if (kv.version !== 0) {
    out[offset++] = 0x20;
    offset = writeNumberVarint(out, offset, kv.version);
  }
  if (kv.value.length > 0) {
    out[offset++] = 0x2a;
    offset = writeNumberVarint(out, offset, kv.value.length);
    offset += kv.value.copy(out, offset);
  }
  if (kv.lease !== 0n) {
    out[offset++] = 0x30;
    writeBigVarint(out, offset, kv.lease);
  }
  return out;
}

class Reader {
  offset = 0;
  constructor(private readonly bytes: Buffer) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.offset >= this.bytes.length) throw new Error('KeyValue: truncated varint');
      const byte = this.bytes[this.offset++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('KeyValue: varint too long');
    }
  }

  /** A varint known to be a revision, version or length (non-negative, below 2^53). */
  smallVarint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.offset >= this.bytes.length) throw new Error('KeyValue: truncated varint');
      const byte = this.bytes[this.offset++];
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return result;
      scale *= 128;
      if (scale > 2 ** 56) throw new Error('KeyValue: varint too long');
    }
  }

  bytesField(): Buffer {
    const length = this.smallVarint();
    const end = this.offset + length;
    if (end > this.bytes.length) throw new Error('KeyValue: truncated bytes field');
    const out = this.bytes.subarray(this.offset, end);
    this.offset = end;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 2) this.bytesField();
    else if (wireType === 1) this.offset += 8;
    else if (wireType === 5) this.offset += 4;
    else throw new Error(`KeyValue: unsupported wire type ${wireType}`);
  }
}

/** Decode a stored KeyValue. Key and value are views into `bytes`. */
export function decodeKeyValue(bytes: Buffer): KeyValue {
  const reader = new Reader(bytes);
  let key = EMPTY;
  let createRevision = 0;
  let modRevision = 0;
  let version = 0;
  let value = EMPTY;
  let lease = 0n;
  while (!reader.done) {
    const tag = reader.smallVarint();
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 1 && wireType === 2) key = reader.bytesField();
    else if (field === 2 && wireType === 0) createRevision = reader.smallVarint();
    else if (field === 3 && wireType === 0) modRevision = reader.smallVarint();
    else if (field === 4 && wireType === 0) version = reader.smallVarint();
    else if (field === 5 && wireType === 2) value = reader.bytesField();
    else if (field === 6 && wireType === 0) lease = BigInt.asIntN(64, reader.varint());
    else reader.skip(wireType);
  }
  return { key, createRevision, modRevision, version, value, lease };
}

export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A Buffer copy the caller can no longer mutate under us. */
export function copyBytes(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes);
}

// Keys and values the store keeps (every key's latest version lives in memory) are copied into slabs
// of their own. Buffer.from() carves small copies out of Node's shared 8 KiB pool, where each kept
// value pinned the pool's transient neighbours (encoded records, request bytes): about 400 bytes of
// garbage per key. A slab here holds only kept bytes, so it is freed once its keys are overwritten.
// Slabs are small because one surviving value pins its whole slab: under random overwrites a slab
// of S values lives until the last of them goes, which costs about ln(S) times the values' size.
const KEPT_SLAB_BYTES = 4 * 1024;
/** Larger copies get a buffer of their own, so one survivor never pins much. */
const MAX_KEPT_SLAB_COPY = 512;
let keptSlab: Buffer = Buffer.allocUnsafeSlow(0);
let keptSlabUsed = 0;

/**
 * A copy of `bytes` for the store to keep: shares no memory with `bytes` or with transient buffers.
 * `alone` gives it a buffer of its own: for values of keys that get overwritten, which would otherwise
 * leave slabs pinned by their neighbours (a buffer of its own costs about 200 bytes more per value).
 */
export function keepBytes(bytes: Uint8Array, alone = false): Buffer {
  const n = bytes.length;
  if (alone || n > MAX_KEPT_SLAB_COPY) {
    const own = Buffer.allocUnsafeSlow(n);
    own.set(bytes);
    return own;
  }
  if (keptSlabUsed + n > keptSlab.length) {
    keptSlab = Buffer.allocUnsafeSlow(KEPT_SLAB_BYTES);
    keptSlabUsed = 0;
  }
  const out = keptSlab.subarray(keptSlabUsed, keptSlabUsed + n);
  out.set(bytes);
  keptSlabUsed += n;
  return out;
}
